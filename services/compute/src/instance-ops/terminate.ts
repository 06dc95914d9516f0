// terminate_instance: destroy the VM and its disks, free every claim, soft-delete the instance (vm_state deleted).
import { getInstance, recordInstanceFault, releaseClaim, updateInstanceIf, withActionEvent } from '@ferry/common/db';
import { POWER_STATES, VM_STATES } from '@ferry/common/domain';
import type { RequestContext } from '@ferry/common/rpc';
import type { ComputeContext } from '../compute-context';

export const TERMINATE_EVENT = 'compute_terminate_instance';

export async function terminateInstance(c: ComputeContext, ctx: RequestContext, uuid: string): Promise<void> {
  const instance = await getInstance(c.ds, uuid);
  if (!instance || instance.deleted_at || instance.host !== c.host || instance.task_state !== 'deleting') {
    c.log.info({ instance_uuid: uuid, host: instance?.host, task_state: instance?.task_state, deleted: Boolean(instance?.deleted_at) }, 'nothing to terminate; ignored');
    return;
  }
  const expected = { task_states: ['deleting'], host: c.host } as const;
  await withActionEvent(c.ds, ctx, uuid, TERMINATE_EVENT, c.host, async () => {
    try {
      await c.driver.destroy(uuid);
    } catch (err) {
      // Nova leaves an instance it could not destroy in ERROR, deletable again.
      await recordInstanceFault(c.ds, { instance_uuid: uuid, code: 500, message: (err as Error).message, details: (err as Error).stack ?? null, host: c.host });
      await updateInstanceIf(c.ds, uuid, expected, { vm_state: VM_STATES.ERROR, task_state: null });
      throw err;
    }
    await releaseClaim(c.ds, uuid);
    const deleted = await updateInstanceIf(c.ds, uuid, expected, { vm_state: VM_STATES.DELETED, task_state: null, power_state: POWER_STATES.NOSTATE, deleted: true });
    c.log.info({ instance_uuid: uuid }, deleted ? 'instance terminated' : 'VM destroyed, but the instance changed meanwhile');
  });
}
