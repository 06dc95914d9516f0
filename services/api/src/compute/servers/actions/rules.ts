// When each server action may run (Nova's check_instance_lock/host/state decorators) and the task it takes, as data.
import { ALL_VM_STATES, SOFT_REBOOT_TASK_STATES, TASK_STATES, VM_STATES, type TaskState, type VmState } from '@ferry/common/domain';

/** What an action asks of the instance before it may run. */
export interface StateRule {
  /** The name Nova's 409s use: "Cannot 'stop' instance … while it is in vm_state …". */
  action: string;
  /** The instance action it records (`openstack server event list`). */
  instanceAction: string;
  /** vm_states it may start from. */
  vmStates: readonly VmState[];
  /** task_states it may start from (null: no task); also the CAS's from-states. */
  fromTasks: readonly (TaskState | null)[];
  /** Nova checks the host (409 "not ready") before the states for these. */
  hostFirst: boolean;
}

/** An action accepted by winning task_state `to` with a CAS from one of `fromTasks`. */
export interface TaskRule extends StateRule {
  /** The task_state it sets. */
  to: TaskState;
}

/** Nova's ALLOW_REBOOT: a hard reboot may interrupt these tasks. */
export const ALLOW_HARD_REBOOT_TASKS: readonly (TaskState | null)[] = Object.freeze([
  null, ...SOFT_REBOOT_TASK_STATES, TASK_STATES.RESUMING, TASK_STATES.REBOOTING_HARD, TASK_STATES.UNPAUSING, TASK_STATES.PAUSING, TASK_STATES.SUSPENDING,
]);

const { ACTIVE, ERROR, STOPPED, PAUSED, SUSPENDED, RESIZED } = VM_STATES;

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
  suspend: { action: 'suspend', instanceAction: 'suspend', vmStates: [ACTIVE], fromTasks: [null], to: TASK_STATES.SUSPENDING, hostFirst: false },
  resume: { action: 'resume', instanceAction: 'resume', vmStates: [SUSPENDED], fromTasks: [null], to: TASK_STATES.RESUMING, hostFirst: false },
} satisfies Record<string, TaskRule>);

/** rescue (active, stopped or in error) and unrescue (rescued), with no task. */
export const RESCUE_RULES = Object.freeze({
  rescue: { action: 'rescue', instanceAction: 'rescue', vmStates: [ACTIVE, STOPPED, ERROR], fromTasks: [null], to: TASK_STATES.RESCUING, hostFirst: false },
  unrescue: { action: 'unrescue', instanceAction: 'unrescue', vmStates: [VM_STATES.RESCUED], fromTasks: [null], to: TASK_STATES.UNRESCUING, hostFirst: false },
} satisfies Record<string, TaskRule>);

/** os-migrateLive: active or paused (and, where both hosts can, rescued) instances with no task. */
export const LIVE_MIGRATE_RULE: TaskRule = Object.freeze({
  action: 'os-migrateLive', instanceAction: 'live-migration', vmStates: [ACTIVE, PAUSED, VM_STATES.RESCUED], fromTasks: [null],
  to: TASK_STATES.MIGRATING, hostFirst: false,
});

/**
 * force_complete and abort on /servers/{id}/migrations/{mid} (Nova's check_instance_state on them): the instance must be
 * live-migrating. Nova force-completes only ACTIVE instances; Ferry also those it live-migrates paused or rescued.
 */
export const LIVE_MIGRATION_STEER_RULES = Object.freeze({
  forceComplete: {
    action: 'force_complete', instanceAction: 'live_migration_force_complete', vmStates: LIVE_MIGRATE_RULE.vmStates,
    fromTasks: [TASK_STATES.MIGRATING], hostFirst: false,
  },
  abort: {
    action: 'abort live migration', instanceAction: 'live_migration_cancel', vmStates: ALL_VM_STATES, fromTasks: [TASK_STATES.MIGRATING], hostFirst: false,
  },
} satisfies Record<string, StateRule>);

/** Cold moves (Nova's compute API resize, migrate, revert_resize): the instance must be settled, with no task. */
export const MOVE_RULES = Object.freeze({
  resize: { action: 'resize', instanceAction: 'resize', vmStates: [ACTIVE, STOPPED], fromTasks: [null], to: TASK_STATES.RESIZE_PREP, hostFirst: false },
  migrate: { action: 'migrate', instanceAction: 'migrate', vmStates: [ACTIVE, STOPPED], fromTasks: [null], to: TASK_STATES.RESIZE_PREP, hostFirst: false },
  revertResize: {
    action: 'revertResize', instanceAction: 'revertResize', vmStates: [RESIZED], fromTasks: [null], to: TASK_STATES.RESIZE_REVERTING, hostFirst: false,
  },
} satisfies Record<string, TaskRule>);

/**
 * confirmResize takes no task (Nova sets none): of a confirm and a revert sent together, the CAS on the
 * migration's status decides which one proceeds.
 */
export const CONFIRM_RESIZE_RULE: StateRule = Object.freeze({
  action: 'confirmResize', instanceAction: 'confirmResize', vmStates: [RESIZED], fromTasks: [null], hostFirst: false,
});

/** evacuate (Nova's check_instance_state on it): active, stopped or errored instances with no task, rebuilt elsewhere. */
export const EVACUATE_RULE: TaskRule = Object.freeze({
  action: 'evacuate', instanceAction: 'evacuate', vmStates: [ACTIVE, STOPPED, ERROR], fromTasks: [null], to: TASK_STATES.REBUILDING, hostFirst: false,
});
