// Nova's instance vocabulary: vm_state (stable state), task_state (what is happening now), power_state (what the hypervisor reports).

export const VM_STATES = Object.freeze({
  ACTIVE: 'active',
  BUILDING: 'building',
  PAUSED: 'paused',
  SUSPENDED: 'suspended',
  STOPPED: 'stopped',
  RESCUED: 'rescued',
  RESIZED: 'resized',
  /** Nova's literal value is 'soft-delete' (not 'soft-deleted'); clients filter on it. */
  SOFT_DELETED: 'soft-delete',
  DELETED: 'deleted',
  ERROR: 'error',
  SHELVED: 'shelved',
  SHELVED_OFFLOADED: 'shelved_offloaded',
} as const);
export type VmState = (typeof VM_STATES)[keyof typeof VM_STATES];
export const ALL_VM_STATES: readonly VmState[] = Object.freeze(Object.values(VM_STATES));

export const TASK_STATES = Object.freeze({
  SCHEDULING: 'scheduling',
  BLOCK_DEVICE_MAPPING: 'block_device_mapping',
  NETWORKING: 'networking',
  SPAWNING: 'spawning',
  IMAGE_SNAPSHOT: 'image_snapshot',
  IMAGE_SNAPSHOT_PENDING: 'image_snapshot_pending',
  IMAGE_PENDING_UPLOAD: 'image_pending_upload',
  IMAGE_UPLOADING: 'image_uploading',
  IMAGE_BACKUP: 'image_backup',
  UPDATING_PASSWORD: 'updating_password',
  RESIZE_PREP: 'resize_prep',
  RESIZE_MIGRATING: 'resize_migrating',
  RESIZE_MIGRATED: 'resize_migrated',
  RESIZE_FINISH: 'resize_finish',
  RESIZE_REVERTING: 'resize_reverting',
  RESIZE_CONFIRMING: 'resize_confirming',
  REBOOTING: 'rebooting',
  REBOOT_PENDING: 'reboot_pending',
  REBOOT_STARTED: 'reboot_started',
  REBOOTING_HARD: 'rebooting_hard',
  REBOOT_PENDING_HARD: 'reboot_pending_hard',
  REBOOT_STARTED_HARD: 'reboot_started_hard',
  PAUSING: 'pausing',
  UNPAUSING: 'unpausing',
  SUSPENDING: 'suspending',
  RESUMING: 'resuming',
  POWERING_OFF: 'powering-off',
  POWERING_ON: 'powering-on',
  RESCUING: 'rescuing',
  UNRESCUING: 'unrescuing',
  REBUILDING: 'rebuilding',
  REBUILD_BLOCK_DEVICE_MAPPING: 'rebuild_block_device_mapping',
  REBUILD_SPAWNING: 'rebuild_spawning',
  MIGRATING: 'migrating',
  DELETING: 'deleting',
  SOFT_DELETING: 'soft-deleting',
  RESTORING: 'restoring',
  SHELVING: 'shelving',
  SHELVING_IMAGE_PENDING_UPLOAD: 'shelving_image_pending_upload',
  SHELVING_IMAGE_UPLOADING: 'shelving_image_uploading',
  SHELVING_OFFLOADING: 'shelving_offloading',
  UNSHELVING: 'unshelving',
} as const);
export type TaskState = (typeof TASK_STATES)[keyof typeof TASK_STATES];
export const ALL_TASK_STATES: readonly TaskState[] = Object.freeze(Object.values(TASK_STATES));

/** A cold move or resize in flight (the API shows RESIZE). */
export const RESIZING_TASK_STATES: readonly TaskState[] = Object.freeze(['resize_prep', 'resize_migrating', 'resize_migrated', 'resize_finish']);
export const SOFT_REBOOT_TASK_STATES: readonly TaskState[] = Object.freeze(['rebooting', 'reboot_pending', 'reboot_started']);
export const HARD_REBOOT_TASK_STATES: readonly TaskState[] = Object.freeze(['rebooting_hard', 'reboot_pending_hard', 'reboot_started_hard']);
export const REBUILD_TASK_STATES: readonly TaskState[] = Object.freeze(['rebuilding', 'rebuild_block_device_mapping', 'rebuild_spawning']);

/** Nova's power_state numbers (they match libvirt's virDomainState where both define a value). */
export const POWER_STATES = Object.freeze({
  NOSTATE: 0,
  RUNNING: 1,
  PAUSED: 3,
  SHUTDOWN: 4,
  CRASHED: 6,
  SUSPENDED: 7,
} as const);
export type PowerState = (typeof POWER_STATES)[keyof typeof POWER_STATES];
export const ALL_POWER_STATES: readonly PowerState[] = Object.freeze(Object.values(POWER_STATES));

export function isVmState(value: unknown): value is VmState {
  return typeof value === 'string' && (ALL_VM_STATES as readonly string[]).includes(value);
}

export function isTaskState(value: unknown): value is TaskState {
  return typeof value === 'string' && (ALL_TASK_STATES as readonly string[]).includes(value);
}

export function isPowerState(value: unknown): value is PowerState {
  return typeof value === 'number' && (ALL_POWER_STATES as readonly number[]).includes(value);
}

/** The name Nova's API and logs use for a power state number, e.g. 4 → "SHUTDOWN". */
export function powerStateName(value: number): string {
  const entry = Object.entries(POWER_STATES).find(([, v]) => v === value);
  return entry ? entry[0] : 'NOSTATE';
}
