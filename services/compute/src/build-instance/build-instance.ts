// build_and_run_instance on this host: take the instance (CAS to spawning), spawn its VM, mark it ACTIVE.
import { getInstance, releaseClaim, updateInstanceIf, withActionEvent, type Instance } from '@ferry/common/db';
import { POWER_STATES, VM_STATES } from '@ferry/common/domain';
import type { RequestContext } from '@ferry/common/rpc';
import type { RequestSpec } from '@ferry/common/domain';
import { vmSpecOf, type ComputeContext } from '../compute-context';
import { rescheduleOrFail } from './reschedule';
import { crashPoint } from '@ferry/common/chaos';

export const BUILD_EVENT = 'compute__do_build_and_run_instance';

export interface BuildRequest {
  instance_uuid: string;
  request_spec: RequestSpec;
  alternates: string[];
}

export async function buildAndRunInstance(c: ComputeContext, ctx: RequestContext, req: BuildRequest): Promise<void> {
  const uuid = req.instance_uuid;
  const instance = await getInstance(c.ds, uuid);
  if (!instance || instance.deleted_at) {
    // Deleted before it reached us: whatever was claimed here for it is nobody's.
    await releaseClaim(c.ds, uuid, c.host);
    c.log.info({ instance_uuid: uuid }, 'instance deleted before its build started; claim released');
    return;
  }
  // The scheduler (or the host that rescheduled here) names this host before casting; null is accepted for
  // callers that let the compute take the instance. Any other state means the build is done or elsewhere.
  const taken = await updateInstanceIf(
    c.ds, uuid,
    { vm_states: [VM_STATES.BUILDING], task_states: ['scheduling', null], host: [c.host, null] },
    { task_state: 'spawning', host: c.host, node: c.node },
  );
  if (!taken) {
    await forwardIfWaitingElsewhere(c, ctx, req);
    return;
  }
  // While it runs, the reconciler leaves this build alone (a spawn left in `spawning` with no run is its to settle).
  c.activeTasks.add(uuid);
  try {
    await withActionEvent(c.ds, ctx, uuid, BUILD_EVENT, c.host, async () => {
      try {
        await c.driver.spawn(vmSpecOf(instance));
      } catch (err) {
        const outcome = await rescheduleOrFail(c, ctx, instance, req, err as Error);
        // A rescheduled build is not this action's failure (Nova's event reads Success); a final one is.
        if (outcome === 'failed') throw err;
        return;
      }
      crashPoint('build.compute.after_spawn', c.host);
      await finishBuild(c, instance);
    });
  } finally {
    c.activeTasks.delete(uuid);
  }
}

async function finishBuild(c: ComputeContext, instance: Instance): Promise<void> {
  const uuid = instance.uuid;
  const active = await updateInstanceIf(
    c.ds, uuid,
    { vm_states: [VM_STATES.BUILDING], task_states: ['spawning'], host: c.host },
    { vm_state: VM_STATES.ACTIVE, task_state: null, power_state: POWER_STATES.RUNNING, launched: true },
  );
  if (active) {
    c.log.info({ instance_uuid: uuid }, 'instance spawned and running');
    return;
  }
  const now = await getInstance(c.ds, uuid);
  if (!now || now.deleted_at) {
    // Deleted while spawning (the terminate found no VM yet): the VM just made is an orphan.
    await c.driver.destroy(uuid);
    await releaseClaim(c.ds, uuid);
    c.log.info({ instance_uuid: uuid }, 'instance deleted during spawn; its VM destroyed');
  } else if (now.task_state === 'deleting') {
    // The terminate may have looked before this VM existed: destroying it here too leaves nothing either way.
    await c.driver.destroy(uuid);
    await releaseClaim(c.ds, uuid, c.host);
    c.log.info({ instance_uuid: uuid }, 'instance being deleted during spawn; its VM destroyed');
  } else {
    // e.g. task deleting: the terminate on its way destroys the VM.
    c.log.warn({ instance_uuid: uuid, vm_state: now.vm_state, task_state: now.task_state }, 'instance changed during spawn; left to the request that changed it');
  }
}

/**
 * A build for an instance that now waits on another host (this host rescheduled it there and died before its
 * cast went out, and this message is the redelivery): pass the nudge on. The other host's CAS decides, so a
 * second nudge to a host that already took the build changes nothing.
 */
async function forwardIfWaitingElsewhere(c: ComputeContext, ctx: RequestContext, req: BuildRequest): Promise<void> {
  const now = await getInstance(c.ds, req.instance_uuid);
  const fields = { instance_uuid: req.instance_uuid, vm_state: now?.vm_state, task_state: now?.task_state, host: now?.host };
  if (!now || now.deleted_at || now.vm_state !== VM_STATES.BUILDING || now.task_state !== 'scheduling' || !now.host || now.host === c.host) {
    c.log.info(fields, 'build not for this host or already under way; ignored');
    return;
  }
  c.log.info(fields, 'instance waits on another host; build message passed on to it');
  await c.computeRpc.buildAndRunInstance(ctx, now.host, now.uuid, req.request_spec, req.alternates.filter((h) => h !== now.host));
}
