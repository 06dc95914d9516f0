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
 * matches. `remember` merges system_metadata entries (null removes one) in the same statement: what the new task's
 * request carried, kept for a re-drive, lands exactly when the task is taken. Returns true when this call made the change.
 */
export async function advanceInstanceTask(
  ds: DataSource,
  uuid: string,
  fromTaskStates: readonly (string | null)[],
  toTaskState: string | null,
  patch?: Partial<Instance>,
  remember?: Readonly<Record<string, string | null>>,
): Promise<boolean> {
  if (fromTaskStates.length === 0) throw new InvalidTransition(`advanceInstanceTask to ${toTaskState} needs at least one from-state`, { to: toTaskState });
  for (const state of [...fromTaskStates, toTaskState]) {
    if (state !== null && !isTaskState(state)) throw new InvalidTransition(`unknown task_state ${JSON.stringify(state)}`, { instance_uuid: uuid, task_state: state });
  }
  const values = checkPatch(ds, Instance, patch, OWNED);
  const named = [...new Set(fromTaskStates.filter((s): s is string => s !== null))];
  const matchesNull = fromTaskStates.includes(null);

  const entries = Object.entries(remember ?? {});
  const merged = entries.length === 0 ? {} : {
    system_metadata: () => "(coalesce(system_metadata, '{}'::jsonb) || CAST(:rememberSet AS jsonb)) - CAST(:rememberDrop AS text[])",
  };
  const result = await ds.createQueryBuilder()
    .update(Instance)
    .set({ ...values, ...merged, task_state: toTaskState, updated_at: () => 'now()' })
    .where('uuid = :uuid', { uuid })
    .setParameters(entries.length === 0 ? {} : {
      rememberSet: JSON.stringify(Object.fromEntries(entries.filter(([, v]) => v !== null))),
      rememberDrop: entries.filter(([, v]) => v === null).map(([k]) => k),
    })
    .andWhere('deleted_at IS NULL')
    .andWhere(new Brackets((or) => {
      if (named.length > 0) or.orWhere('task_state IN (:...named)', { named });
      if (matchesNull) or.orWhere('task_state IS NULL');
    }))
    .execute();
  return result.affected === 1;
}
