// The only way an instance's task_state changes: a compare-and-set that treats NULL (no task) as a value.
import type { DataSource } from 'typeorm';
import { InvalidTransition, isTaskState } from '../../domain';
import { Instance } from '../entities';
import { actionOpening, type ActionRequester } from '../repos/instance-actions';
import { checkPatch } from './patch-columns';
import { RowUpdate, runStatementParts, SqlParams } from './row-update';

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
  return instanceTaskAdvance(ds, new SqlParams(), uuid, fromTaskStates, toTaskState, patch, remember).run();
}

/**
 * A task taken and the action its request performs opened, in one statement: the action row is written only if the
 * task was won, so a request that lost the race leaves nothing, and one that won never lacks its action. Throws
 * InvalidTransition as advanceInstanceTask does; returns whether this call took the task.
 */
export async function takeTaskWithAction(
  ds: DataSource, task: { uuid: string; from: readonly (string | null)[]; to: string | null; patch?: Partial<Instance>; remember?: Readonly<Record<string, string | null>> },
  ctx: ActionRequester, action: string,
): Promise<boolean> {
  const params = new SqlParams();
  const taken = instanceTaskAdvance(ds, params, task.uuid, task.from, task.to, task.patch, task.remember);
  const [won] = await runStatementParts(ds, [['task', taken], ['action', actionOpening(params, ctx, task.uuid, action, 'task')]]);
  return won === 1;
}

/** advanceInstanceTask's update, checked and built but not run. */
function instanceTaskAdvance(
  ds: DataSource, params: SqlParams, uuid: string, fromTaskStates: readonly (string | null)[], toTaskState: string | null,
  patch?: Partial<Instance>, remember?: Readonly<Record<string, string | null>>,
): RowUpdate<Instance> {
  if (fromTaskStates.length === 0) throw new InvalidTransition(`advanceInstanceTask to ${toTaskState} needs at least one from-state`, { to: toTaskState });
  for (const state of [...fromTaskStates, toTaskState]) {
    if (state !== null && !isTaskState(state)) throw new InvalidTransition(`unknown task_state ${JSON.stringify(state)}`, { instance_uuid: uuid, task_state: state });
  }
  const values = checkPatch(ds, Instance, patch, OWNED);
  const update = new RowUpdate(ds, Instance, params).set({ ...values, task_state: toTaskState }).setNow('updated_at');
  const entries = Object.entries(remember ?? {});
  if (entries.length > 0) {
    // Entries with a value are merged in, entries set to null removed.
    const set = JSON.stringify(Object.fromEntries(entries.filter(([, v]) => v !== null)));
    const drop = entries.filter(([, v]) => v === null).map(([k]) => k);
    update.setExpression('system_metadata', (p) => `(coalesce(system_metadata, '{}'::jsonb) || ${p.add(set)}::jsonb) - ${p.add(drop)}::text[]`);
  }
  return update.whereEquals('uuid', uuid).whereNull('deleted_at').whereIn('task_state', [...new Set(fromTaskStates)]);
}
