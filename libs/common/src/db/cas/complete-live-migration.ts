// Confirm's last writes of a live migration as one statement: the source's claim freed, the record completed, the
// instance's task cleared. One round trip and one commit instead of three, and no state in which only some landed.
import type { DataSource } from 'typeorm';
import { canTransition, InvalidTransition } from '../../domain';
import { queryPrepared } from '../prepared';

export interface LiveCompletion {
  migrationId: number;
  instanceUuid: string;
  /** The host the guest left: its claim is freed. */
  source: string;
  /** The host the database names now: the instance's task is cleared only while it says so. */
  dest: string;
  /** The record's phase timings as they end. */
  phaseTimings: Record<string, unknown>;
}

/**
 * Frees the source's claim, moves the record post-migrating → completed (last_error cleared) and clears the instance's
 * `migrating` task while it is on `dest`: each as its own condition, as three separate writes would, but together.
 * Returns whether the record was completed by this call.
 */
export async function completeLiveMigration(ds: DataSource, done: LiveCompletion): Promise<boolean> {
  if (!canTransition('live-migration', 'post-migrating', 'completed', 'source')) {
    throw new InvalidTransition('live-migration: post-migrating -> completed may not be written by source', { migration_id: done.migrationId });
  }
  const rows = await queryPrepared<{ completed: number }>(ds, 'ferry_complete_live_migration',
    `WITH completed AS (
       UPDATE migrations SET status = 'completed', last_error = NULL, phase_timings = $5::jsonb, updated_at = now()
        WHERE id = $1 AND status = 'post-migrating' AND migration_type = 'live-migration'
       RETURNING id
     ), freed AS (
       DELETE FROM allocations WHERE consumer_uuid = $2 AND host = $3
     ), settled AS (
       UPDATE instances SET task_state = NULL, updated_at = now()
        WHERE uuid = $2 AND deleted_at IS NULL AND task_state = 'migrating' AND host = $4
     )
     SELECT count(*)::int AS completed FROM completed`,
    [done.migrationId, done.instanceUuid, done.source, done.dest, JSON.stringify(done.phaseTimings)],
  );
  return rows[0]?.completed === 1;
}
