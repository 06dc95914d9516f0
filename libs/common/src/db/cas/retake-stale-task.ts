// Takes over a task nobody has advanced for a while (a lost message), so that exactly one caller drives it again.
import type { DataSource } from 'typeorm';
import { InvalidTransition, isTaskState } from '../../domain';
import { Instance } from '../entities';

/**
 * True when this call found instance `uuid` still in `task`, untouched for `olderThanSeconds`, and stamped it as
 * fresh again in the same statement: of many concurrent callers, at most one wins. A deleted instance never matches.
 */
export async function retakeStaleTask(ds: DataSource, uuid: string, task: string, olderThanSeconds: number): Promise<boolean> {
  if (!isTaskState(task)) throw new InvalidTransition(`unknown task_state ${JSON.stringify(task)}`, { instance_uuid: uuid, task_state: task });
  const result = await ds.createQueryBuilder()
    .update(Instance)
    .set({ updated_at: () => 'now()' })
    .where('uuid = :uuid AND deleted_at IS NULL AND task_state = :task', { uuid, task })
    .andWhere('updated_at < now() - make_interval(secs => :seconds)', { seconds: olderThanSeconds })
    .execute();
  return result.affected === 1;
}
