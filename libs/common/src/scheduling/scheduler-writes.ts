// The only way the scheduler writes an instance: the compare-and-set writers every service uses, after a check
// against the scheduler's table of instance writes (domain/scheduler-instance-writes.ts). A write the table does not
// list throws InvalidTransition before the database is touched.
import type { DataSource } from 'typeorm';
import { advanceInstanceTask, updateInstanceIf, type Db, type Instance, type InstanceExpectation, type InstanceStatePatch } from '../db';
import { InvalidTransition, schedulerInstanceWrite, type TaskState } from '../domain';

function checkWrite(uuid: string, from: readonly (TaskState | null)[], to: TaskState | null | 'unchanged', columns: readonly string[]): void {
  if (schedulerInstanceWrite(from, to, columns)) return;
  throw new InvalidTransition(
    `instance ${uuid}: the scheduler may not write task_state ${JSON.stringify(from)} -> ${JSON.stringify(to)} setting ${JSON.stringify(columns)}`,
    { instance_uuid: uuid, from, to, columns },
  );
}

/** updateInstanceIf, for a write the scheduler's table allows. */
export async function updateInstanceAsScheduler(db: Db, uuid: string, expected: InstanceExpectation, patch: InstanceStatePatch): Promise<boolean> {
  const { task_state: to, ...rest } = patch;
  checkWrite(uuid, expected.task_states, to === undefined ? 'unchanged' : to, Object.keys(rest));
  return updateInstanceIf(db, uuid, expected, patch);
}

/** advanceInstanceTask, for a task change the scheduler's table allows. */
export async function advanceInstanceTaskAsScheduler(
  ds: DataSource, uuid: string, from: readonly (TaskState | null)[], to: TaskState | null,
  patch?: Partial<Instance>, remember?: Readonly<Record<string, string | null>>,
): Promise<boolean> {
  checkWrite(uuid, from, to, [...Object.keys(patch ?? {}), ...(remember ? ['system_metadata'] : [])]);
  return advanceInstanceTask(ds, uuid, from, to, patch, remember);
}
