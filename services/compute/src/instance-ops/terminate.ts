// terminate_instance: destroy the VM and its disks, free every claim, soft-delete the instance (vm_state deleted).
// The host the instance names finishes the delete; the other host of a move in progress drops its own copy and claim.
import {
  advanceMigration, getInstance, openMigrationOf, recordInstanceFault, releaseClaim, updateInstanceIf, withActionEvent,
} from '@ferry/common/db';
import { POWER_STATES, VM_STATES } from '@ferry/common/domain';
import type { RequestContext } from '@ferry/common/rpc';
import type { ComputeContext } from '../compute-context';
import { isBeingDeleted, latestMoveOf, nudgeOtherHost, stopMoveHere, takesPartIn } from './stop-move';

export const TERMINATE_EVENT = 'compute_terminate_instance';

/**
 * Runs on the instance's host (cast by the API) and on the other host of its move (cast by the first one). A move in
 * progress is stopped before anything is destroyed, so no step of it recreates what was removed. Any message, repeated
 * or late, for an instance that is not being deleted is ignored; for one already deleted only a host of its last move
 * acts, dropping whatever is left of it there.
 */
export async function terminateInstance(c: ComputeContext, ctx: RequestContext, uuid: string): Promise<void> {
  const instance = await getInstance(c.ds, uuid);
  if (!instance || !isBeingDeleted(instance)) {
    c.log.info({ instance_uuid: uuid, host: instance?.host, task_state: instance?.task_state }, 'instance is not being deleted; terminate ignored');
    return;
  }
  const owner = !instance.deleted_at && instance.host === c.host;
  const move = await latestMoveOf(c, uuid);
  // Another host finishes a delete; this one only drops what a move brought here, and a repeated message finds the rest done.
  if (!owner && !takesPartIn(c, move)) {
    c.log.info({ instance_uuid: uuid, host: instance.host, deleted: Boolean(instance.deleted_at) }, 'nothing of this instance to terminate here; ignored');
    return;
  }
  const expected = { task_states: ['deleting'], host: c.host } as const;
  await withActionEvent(c.ds, ctx, uuid, TERMINATE_EVENT, c.host, async () => {
    await stopMoveHere(c, move);
    try {
      await c.driver.destroy(uuid);
    } catch (err) {
      // Nova leaves an instance it could not destroy in ERROR, deletable again.
      if (owner) {
        await recordInstanceFault(c.ds, { instance_uuid: uuid, code: 500, message: (err as Error).message, details: (err as Error).stack ?? null, host: c.host });
        await updateInstanceIf(c.ds, uuid, expected, { vm_state: VM_STATES.ERROR, task_state: null });
      }
      throw err;
    }
    await releaseClaim(c.ds, uuid, c.host);
    if (!owner) {
      c.log.info({ instance_uuid: uuid, migration_id: move?.id }, 'copy and claim of a deleted instance dropped on this host');
      return;
    }
    await confirmPendingMove(c, ctx, uuid);
    await nudgeOtherHost(c, ctx, move, uuid);
    // Claims a move took on a host it never reached (a live migration still being placed) go with the instance.
    await releaseClaim(c.ds, uuid);
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
  if (!(await advanceMigration(c.ds, open.id, ['finished'], 'confirming', 'dest'))) return;
  await c.computeRpc.confirmResize(ctx, open.source_compute, open.id).catch((err: unknown) =>
    c.log.error({ migration_id: open.id, err: (err as Error).message }, 'cannot ask the source to drop its copy; its recovery will'));
}
