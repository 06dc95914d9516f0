// Takes over a task nobody has advanced for a while (a lost message), so that exactly one caller drives it again.
import type { DataSource } from 'typeorm';
import { InvalidTransition, isTaskState } from '../../domain';

/**
 * True when this call found instance `uuid` still in `task`, untouched for `olderThanSeconds`, and stamped it as
 * fresh again in the same statement: of many concurrent callers, at most one wins. A deleted instance never matches.
 */
export async function retakeStaleTask(ds: DataSource, uuid: string, task: string, olderThanSeconds: number): Promise<boolean> {
  if (!isTaskState(task)) throw new InvalidTransition(`unknown task_state ${JSON.stringify(task)}`, { instance_uuid: uuid, task_state: task });
  const rows = await ds.query(
    `UPDATE instances SET updated_at = now()
      WHERE uuid = $1 AND deleted_at IS NULL AND task_state = $2 AND updated_at < now() - make_interval(secs => $3)
      RETURNING uuid`,
    [uuid, task, olderThanSeconds],
  ) as [unknown[], number] | unknown[];
  const updated = Array.isArray(rows[0]) ? rows[0] : rows;
  return updated.length === 1;
}
