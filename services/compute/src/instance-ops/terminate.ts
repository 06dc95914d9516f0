// terminate_instance: destroy the VM and its disks, free every claim, soft-delete the instance (vm_state deleted).
import {
  advanceMigration, getInstance, openMigrationOf, recordInstanceFault, releaseClaim, updateInstanceIf, withActionEvent,
} from '@ferry/common/db';
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
    await confirmPendingMove(c, ctx, uuid);
    const deleted = await updateInstanceIf(c.ds, uuid, expected, { vm_state: VM_STATES.DELETED, task_state: null, power_state: POWER_STATES.NOSTATE, deleted: true });
    c.log.info({ instance_uuid: uuid }, deleted ? 'instance terminated' : 'VM destroyed, but the instance changed meanwhile');
  });
}

/**
 * A server deleted in VERIFY_RESIZE still has its old copy on the source: confirm the move (as Nova does on delete) so
 * the source destroys that copy too.
 */
async function confirmPendingMove(c: ComputeContext, ctx: RequestContext, uuid: string): Promise<void> {
  const open = await openMigrationOf(c.ds, uuid);
  if (!open || open.dest_compute !== c.host || open.status !== 'finished' || !open.source_compute) return;
  if (!(await advanceMigration(c.ds, open.id, ['finished'], 'confirming'))) return;
  await c.computeRpc.confirmResize(ctx, open.source_compute, open.id).catch((err: unknown) =>
    c.log.error({ migration_id: open.id, err: (err as Error).message }, 'cannot ask the source to drop its copy; its recovery will'));
}
