// A disk copy's progress on the move record and on its instance, in one statement: the record's figures while it
// is still in the copy's status, the instance's percentage while it is still in the copy's task. Either half that no
// longer matches is left alone (the move went on, or failed, meanwhile).
import type { Db } from '../db-handle';

export interface CopyProgressTarget {
  migrationId: number;
  /** The record's status while its disk is copied. */
  whileStatus: string;
  instanceUuid: string;
  /** The instance's task_state while its disk is copied. */
  whileTask: string;
}

export interface CopyFigures {
  total: number;
  processed: number;
  remaining: number;
}

export async function recordCopyProgress(db: Db, target: CopyProgressTarget, p: CopyFigures): Promise<void> {
  const percent = p.total === 0 ? 100 : Math.floor((100 * p.processed) / p.total);
  await db.query(
    `WITH record AS (
       UPDATE migrations SET disk_total = $2, disk_processed = $3, disk_remaining = $4, updated_at = now()
        WHERE id = $1 AND status = $5 RETURNING id)
     UPDATE instances SET progress = $6, updated_at = now() WHERE uuid = $7 AND task_state = $8 AND deleted_at IS NULL`,
    [target.migrationId, p.total, p.processed, p.remaining, target.whileStatus, percent, target.instanceUuid, target.whileTask],
  );
}
