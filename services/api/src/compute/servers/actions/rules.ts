// When each power action may run (Nova's check_instance_lock/host/state decorators), as data.
import { SOFT_REBOOT_TASK_STATES, TASK_STATES, VM_STATES, type TaskState, type VmState } from '@ferry/common/domain';

export interface TaskRule {
  /** The name Nova's 409s use: "Cannot 'stop' instance … while it is in vm_state …". */
  action: string;
  /** The instance action it records (`openstack server event list`). */
  instanceAction: string;
  /** vm_states it may start from. */
  vmStates: readonly VmState[];
  /** task_states it may start from (null: no task); also the CAS's from-states. */
  fromTasks: readonly (TaskState | null)[];
  /** The task_state it sets. */
  to: TaskState;
  /** Nova checks the host (409 "not ready") before the states for these. */
  hostFirst: boolean;
}

/** Nova's ALLOW_REBOOT: a hard reboot may interrupt these tasks. */
export const ALLOW_HARD_REBOOT_TASKS: readonly (TaskState | null)[] = Object.freeze([
  null, ...SOFT_REBOOT_TASK_STATES, TASK_STATES.RESUMING, TASK_STATES.REBOOTING_HARD, TASK_STATES.UNPAUSING, TASK_STATES.PAUSING, TASK_STATES.SUSPENDING,
]);

const { ACTIVE, ERROR, STOPPED, PAUSED, SUSPENDED } = VM_STATES;

export const TASK_RULES = Object.freeze({
  stop: { action: 'stop', instanceAction: 'stop', vmStates: [ACTIVE, ERROR], fromTasks: [null], to: TASK_STATES.POWERING_OFF, hostFirst: true },
  start: { action: 'start', instanceAction: 'start', vmStates: [STOPPED], fromTasks: [null], to: TASK_STATES.POWERING_ON, hostFirst: true },
  softReboot: { action: 'reboot', instanceAction: 'reboot', vmStates: [ACTIVE], fromTasks: [null], to: TASK_STATES.REBOOTING, hostFirst: false },
  hardReboot: {
    action: 'reboot', instanceAction: 'reboot', vmStates: [ACTIVE, STOPPED, PAUSED, SUSPENDED, ERROR], fromTasks: ALLOW_HARD_REBOOT_TASKS,
    to: TASK_STATES.REBOOTING_HARD, hostFirst: false,
  },
  pause: { action: 'pause', instanceAction: 'pause', vmStates: [ACTIVE], fromTasks: [null], to: TASK_STATES.PAUSING, hostFirst: false },
  unpause: { action: 'unpause', instanceAction: 'unpause', vmStates: [PAUSED], fromTasks: [null], to: TASK_STATES.UNPAUSING, hostFirst: false },
} satisfies Record<string, TaskRule>);
