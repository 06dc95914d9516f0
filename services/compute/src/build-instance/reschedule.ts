// After a failed spawn: clean up here, then move the build to an alternate host, or give up with ERROR.
import { recordInstanceFault, releaseClaim, updateInstanceIf, type Instance } from '@ferry/common/db';
import { POWER_STATES, VM_STATES } from '@ferry/common/domain';
import type { RequestContext } from '@ferry/common/rpc';
import type { ComputeContext } from '../compute-context';
import type { BuildRequest } from './build-instance';
import { claimNextAttempt, nextAttemptSpec } from '@ferry/common/scheduling';

export type BuildFailureOutcome = 'rescheduled' | 'failed' | 'gone';

/** Leaves this host clean (no VM, no claim, a fault naming it), then reschedules while attempts remain. */
export async function rescheduleOrFail(c: ComputeContext, ctx: RequestContext, instance: Instance, req: BuildRequest, err: Error): Promise<BuildFailureOutcome> {
  const uuid = instance.uuid;
  c.log.warn({ instance_uuid: uuid, err: err.message }, 'spawn failed');
  await destroyLeftovers(c, uuid);
  await releaseClaim(c.ds, uuid, c.host);
  await recordInstanceFault(c.ds, { instance_uuid: uuid, code: 500, message: err.message, details: err.stack ?? null, host: c.host });

  const attempts = req.request_spec.num_attempts ?? 1;
  const spawning = { vm_states: [VM_STATES.BUILDING], task_states: ['spawning'], host: c.host } as const;
  const next = await claimNextAttempt(c.ds, {
    consumer_uuid: uuid, flavor: instance.flavor, alternates: req.alternates, exclude: [c.host], attempt: attempts,
    maxAttempts: c.config.schedulerMaxAttempts, serviceDownSeconds: c.config.serviceDownSeconds,
  });
  if ('host' in next) {
    const handedOver = await updateInstanceIf(c.ds, uuid, spawning, { task_state: 'scheduling', host: next.host, node: null });
    if (!handedOver) {
      await releaseClaim(c.ds, uuid, next.host);
      return 'gone';
    }
    try {
      await c.computeRpc.buildAndRunInstance(ctx, next.host, uuid, nextAttemptSpec(req.request_spec, next.attempt, c.host), next.remaining);
      c.log.info({ instance_uuid: uuid, host: next.host, attempt: next.attempt }, 'build rescheduled to an alternate host');
      return 'rescheduled';
    } catch (castErr) {
      c.log.error({ instance_uuid: uuid, host: next.host, err: (castErr as Error).message }, 'cannot cast the build to the alternate host');
      // Only if the alternate has not taken it after all (the cast may have gone out before the error).
      const failed = await updateInstanceIf(c.ds, uuid, { vm_states: [VM_STATES.BUILDING], task_states: ['scheduling'], host: next.host },
        { vm_state: VM_STATES.ERROR, task_state: null, power_state: POWER_STATES.NOSTATE });
      if (failed) await releaseClaim(c.ds, uuid, next.host);
      return failed ? 'failed' : 'gone';
    }
  } else if (next.none === 'hosts') {
    c.log.warn({ instance_uuid: uuid, alternates: req.alternates }, 'no alternate host could be claimed');
  }
  const failed = await updateInstanceIf(c.ds, uuid, spawning, { vm_state: VM_STATES.ERROR, task_state: null, power_state: POWER_STATES.NOSTATE });
  c.log.warn({ instance_uuid: uuid, attempts }, failed ? 'build failed on every host tried; instance set to ERROR' : 'build failed; instance changed meanwhile');
  return failed ? 'failed' : 'gone';
}

async function destroyLeftovers(c: ComputeContext, uuid: string): Promise<void> {
  try {
    await c.driver.destroy(uuid);
  } catch (err) {
    c.log.error({ instance_uuid: uuid, err: (err as Error).message }, 'cannot destroy what the failed spawn left behind');
  }
}
