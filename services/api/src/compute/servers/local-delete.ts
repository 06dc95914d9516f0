// Deleting an instance that no compute service will clean up: never scheduled, or its host is down.
import type { DataSource } from 'typeorm';
import { releaseClaim, updateInstanceIf } from '@ferry/common/db';
import { POWER_STATES, TASK_STATES, VM_STATES } from '@ferry/common/domain';

/**
 * Frees the instance's claims and marks it deleted, as terminate_instance would on its host. The caller has
 * already won task_state `deleting`, so nothing else acts on the instance meanwhile; both steps can be
 * repeated (a second DELETE resumes here). A VM left on a down host is the host's to destroy when it returns.
 */
export async function deleteLocally(ds: DataSource, uuid: string): Promise<void> {
  await releaseClaim(ds, uuid);
  await updateInstanceIf(ds, uuid, { task_states: [TASK_STATES.DELETING] }, {
    vm_state: VM_STATES.DELETED, task_state: null, power_state: POWER_STATES.NOSTATE, deleted: true,
  });
}
