// The instance writes the scheduler may make, as data. They are Nova's conductor's: name the claimed host on a build,
// put a build no host takes in ERROR, give an instance its task back when its move was not placed, and take the task
// for a move a host drain starts. Every other instance write belongs to the API or a compute; the scheduler's writers
// (libs/common/src/scheduling/scheduler-writes.ts) refuse anything this table does not list.
import type { TaskState } from './instance-states';

export interface SchedulerInstanceWrite {
  /** The task states the write may find (null: no task). */
  readonly from: readonly (TaskState | null)[];
  /** The task state it leaves, or 'unchanged'. */
  readonly to: TaskState | null | 'unchanged';
  /** The other columns it may set. */
  readonly columns: readonly string[];
  readonly why: string;
}

const WRITES: SchedulerInstanceWrite[] = [
  { from: ['scheduling'], to: 'unchanged', columns: ['host', 'node'], why: 'a build is placed: the instance names the claimed host before the build is cast to it' },
  { from: ['scheduling'], to: null, columns: ['vm_state'], why: 'no host takes a build: the instance goes to ERROR (NoValidHost)' },
  { from: ['migrating'], to: null, columns: [], why: 'a live migration was not placed, or its request never reached anyone: the instance runs where it ran' },
  { from: ['rebuilding'], to: null, columns: [], why: 'an evacuation was not placed' },
  { from: [null], to: 'migrating', columns: [], why: 'a host drain takes the instance for a live migration' },
  { from: [null], to: 'resize_prep', columns: ['old_flavor', 'new_flavor', 'progress', 'system_metadata'], why: 'a host drain takes the instance for a cold migration' },
  { from: ['resize_prep'], to: null, columns: ['old_flavor', 'new_flavor'], why: 'a host drain could not start the cold migration it took the instance for' },
];

export const SCHEDULER_INSTANCE_WRITES: readonly SchedulerInstanceWrite[] = Object.freeze(
  WRITES.map((w) => Object.freeze({ ...w, from: Object.freeze([...w.from]), columns: Object.freeze([...w.columns]) })),
);

/** The table's entry that allows the write, or undefined: a write from any of `from` to `to` that sets `columns`. */
export function schedulerInstanceWrite(
  from: readonly (TaskState | null)[], to: TaskState | null | 'unchanged', columns: readonly string[],
): SchedulerInstanceWrite | undefined {
  return SCHEDULER_INSTANCE_WRITES.find((w) => w.to === to && from.every((s) => w.from.includes(s)) && columns.every((c) => w.columns.includes(c)));
}
