// rescue and unrescue: boot the instance from a rescue image with its disk attached, and back. What a rescue needs is in
// the database (the rescue image, the state to return to), so a rescued instance may move and be unrescued elsewhere.
import { getInstance, recordInstanceFault, updateInstanceIf, withActionEvent, type Instance } from '@ferry/common/db';
import { POWER_STATES, VM_STATES, type VmState } from '@ferry/common/domain';
import { rescuePayload } from '@ferry/common/notify';
import type { RequestContext } from '@ferry/common/rpc';
import { vmSpecOf, type ComputeContext } from '../compute-context';
import { instanceNotification } from '../notifications';
import { observedPowerState } from './power-actions';
import { instanceBeingDeleted } from './stop-move';
import { onceHere } from './task-once';

export const RESCUE_EVENT = 'compute_rescue_instance';
export const UNRESCUE_EVENT = 'compute_unrescue_instance';

async function instanceHere(c: ComputeContext, uuid: string, task: string): Promise<Instance | undefined> {
  const instance = await getInstance(c.ds, uuid);
  if (!instance || instance.deleted_at || instance.host !== c.host || instance.task_state !== task) {
    c.log.info({ instance_uuid: uuid, task_state: instance?.task_state, host: instance?.host }, `nothing to ${task.replace(/ing$/, '')} here; ignored`);
    return undefined;
  }
  return instance;
}

/**
 * A failed driver call clears the task with a fault and the power state the driver sees, as the power actions do;
 * unless a delete overtook the request (its VM may be gone already): no failure to record on an instance on its way out.
 */
async function failed(c: ComputeContext, instance: Instance, task: string, err: Error): Promise<void> {
  if (await instanceBeingDeleted(c, instance.uuid)) return;
  await recordInstanceFault(c.ds, { instance_uuid: instance.uuid, code: 500, message: err.message, details: err.stack ?? null, host: c.host });
  await updateInstanceIf(c.ds, instance.uuid, { task_states: [task as 'rescuing'], host: c.host }, { task_state: null, power_state: await observedPowerState(c, instance.uuid) });
  throw err;
}

export function rescueInstance(c: ComputeContext, ctx: RequestContext, uuid: string, rescueImageRef: string): Promise<void> {
  return onceHere(c, uuid, () => rescueHere(c, ctx, uuid, rescueImageRef));
}

async function rescueHere(c: ComputeContext, ctx: RequestContext, uuid: string, rescueImageRef: string): Promise<void> {
  const instance = await instanceHere(c, uuid, 'rescuing');
  if (!instance) return;
  await withActionEvent(c.ds, ctx, uuid, RESCUE_EVENT, c.host, () =>
    instanceNotification(c, 'instance.rescue', instance, async () => {
      await c.driver.rescue(vmSpecOf(instance), rescueImageRef).catch((err: unknown) => failed(c, instance, 'rescuing', err as Error));
      await updateInstanceIf(c.ds, uuid, { task_states: ['rescuing'], host: c.host }, {
        vm_state: VM_STATES.RESCUED, task_state: null, power_state: POWER_STATES.RUNNING,
        rescue_image_ref: rescueImageRef, pre_rescue_vm_state: instance.vm_state, rescued_at: new Date(),
      });
    }, () => rescuePayload(instance, rescueImageRef)));
}

export function unrescueInstance(c: ComputeContext, ctx: RequestContext, uuid: string): Promise<void> {
  return onceHere(c, uuid, () => unrescueHere(c, ctx, uuid));
}

async function unrescueHere(c: ComputeContext, ctx: RequestContext, uuid: string): Promise<void> {
  const instance = await instanceHere(c, uuid, 'unrescuing');
  if (!instance) return;
  await withActionEvent(c.ds, ctx, uuid, UNRESCUE_EVENT, c.host, () =>
    instanceNotification(c, 'instance.unrescue', instance, async () => {
      await c.driver.unrescue({ ...vmSpecOf(instance), rescue_image_ref: null }).catch((err: unknown) => failed(c, instance, 'unrescuing', err as Error));
      // Nova returns to ACTIVE whatever the state before the rescue (a stopped instance comes back running).
      await updateInstanceIf(c.ds, uuid, { task_states: ['unrescuing'], host: c.host }, {
        vm_state: VM_STATES.ACTIVE as VmState, task_state: null, power_state: POWER_STATES.RUNNING,
        rescue_image_ref: null, pre_rescue_vm_state: null, rescued_at: null,
      });
    }));
}
