// The only way an instance's task_state changes: a compare-and-set that treats NULL (no task) as a value.
import { Brackets, type DataSource } from 'typeorm';
import { InvalidTransition, isTaskState } from '../../domain';
import { Instance } from '../entities';
import { checkPatch } from './patch-columns';

const OWNED = ['uuid', 'task_state', 'created_at', 'updated_at', 'deleted_at'] as const;

/**
 * Sets task_state to `toTaskState` on instance `uuid` if its task_state is one of `fromTaskStates`
 * (null in the list matches an instance with no task), applying `patch` in the same statement.
 * Unknown task states throw InvalidTransition before the database is touched. A deleted instance never
 * matches. Returns true when this call made the change.
 */
export async function advanceInstanceTask(
  ds: DataSource,
  uuid: string,
  fromTaskStates: readonly (string | null)[],
  toTaskState: string | null,
  patch?: Partial<Instance>,
): Promise<boolean> {
  if (fromTaskStates.length === 0) throw new InvalidTransition(`advanceInstanceTask to ${toTaskState} needs at least one from-state`, { to: toTaskState });
  for (const state of [...fromTaskStates, toTaskState]) {
    if (state !== null && !isTaskState(state)) throw new InvalidTransition(`unknown task_state ${JSON.stringify(state)}`, { instance_uuid: uuid, task_state: state });
  }
  const values = checkPatch(ds, Instance, patch, OWNED);
  const named = [...new Set(fromTaskStates.filter((s): s is string => s !== null))];
  const matchesNull = fromTaskStates.includes(null);

  const result = await ds.createQueryBuilder()
    .update(Instance)
    .set({ ...values, task_state: toTaskState, updated_at: () => 'now()' })
    .where('uuid = :uuid', { uuid })
    .andWhere('deleted_at IS NULL')
    .andWhere(new Brackets((or) => {
      if (named.length > 0) or.orWhere('task_state IN (:...named)', { named });
      if (matchesNull) or.orWhere('task_state IS NULL');
    }))
    .execute();
  return result.affected === 1;
}
