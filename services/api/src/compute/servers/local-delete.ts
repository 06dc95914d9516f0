// Deleting an instance that no compute service will clean up: never scheduled, or its host is down.
import type { DataSource } from 'typeorm';
import { advanceMigration, openMigrationOf, releaseClaim, updateInstanceIf, type Migration } from '@ferry/common/db';
import { MOVE_ENDED_BY_DELETE_MESSAGE, POWER_STATES, statusEndingMoveOnDelete, TASK_STATES, VM_STATES } from '@ferry/common/domain';

/**
 * Ends the instance's unfinished move, frees its claims on every host and marks it deleted, as terminate_instance
 * would on its host. The caller has already won task_state `deleting`, so nothing else acts on the instance
 * meanwhile; every step can be repeated (a second DELETE resumes here). A VM left on a down host is the host's to
 * destroy when it returns. Returns the move, whose other (live) host the caller asks to drop its copy.
 */
export async function deleteLocally(ds: DataSource, uuid: string): Promise<Migration | undefined> {
  const move = await openMigrationOf(ds, uuid);
  if (move) {
    const to = statusEndingMoveOnDelete(move.migration_type, move.status, 'api');
    // A move the API may not end (VERIFY_RESIZE, a confirm under way) is ended by the compute the caller nudges.
    if (to) await advanceMigration(ds, move.id, [move.status], to, 'api', { last_error: MOVE_ENDED_BY_DELETE_MESSAGE });
  }
  await releaseClaim(ds, uuid);
  await updateInstanceIf(ds, uuid, { task_states: [TASK_STATES.DELETING] }, {
    vm_state: VM_STATES.DELETED, task_state: null, power_state: POWER_STATES.NOSTATE, deleted: true,
  });
  return move;
}
