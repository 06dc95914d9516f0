// Giving up on a cold move before any migration record exists: the instance goes back to no task where it runs.
import type { DataSource } from 'typeorm';
import { recordInstanceFault } from './instance-faults';
import { updateInstanceIf } from './instances';

export interface MovePrepFailure {
  message: string;
  /** 500 for the unexpected; NoValidHost is stored as 500 too, as Nova does. */
  code?: number;
  details?: string | null;
  /** The host that gave up (null: the scheduler). */
  host: string | null;
}

/**
 * Records why the move did not happen, then (if the instance is still preparing it) clears the task and the
 * pending flavors; its VM was never touched. Returns whether this call ended the preparation.
 */
export async function abandonMovePrep(ds: DataSource, instanceUuid: string, failure: MovePrepFailure): Promise<boolean> {
  // The fault first: whoever sees the task cleared also sees why.
  await recordInstanceFault(ds, { instance_uuid: instanceUuid, code: failure.code ?? 500, message: failure.message, details: failure.details ?? null, host: failure.host });
  return updateInstanceIf(ds, instanceUuid, { task_states: ['resize_prep'] }, { task_state: null, old_flavor: null, new_flavor: null });
}

