// The server `status` the Compute API shows, derived from vm_state × task_state exactly as Nova's _STATE_MAP does.
import { ALL_VM_STATES, type TaskState, type VmState } from './instance-states';

export const API_STATUSES = [
  'ACTIVE', 'BUILD', 'REBOOT', 'HARD_REBOOT', 'PASSWORD', 'REBUILD', 'MIGRATING', 'RESIZE', 'VERIFY_RESIZE',
  'REVERT_RESIZE', 'SHUTOFF', 'PAUSED', 'SUSPENDED', 'RESCUE', 'ERROR', 'DELETED', 'SOFT_DELETED', 'SHELVED',
  'SHELVED_OFFLOADED', 'UNKNOWN',
] as const;
export type ApiStatus = (typeof API_STATUSES)[number];

/** For one vm_state: the status when no listed task applies (`default`) and per-task overrides. */
export interface ApiStatusRow {
  readonly default: ApiStatus;
  readonly tasks: Readonly<Partial<Record<TaskState, ApiStatus>>>;
}

const RESIZE_TASKS = { resize_prep: 'RESIZE', resize_migrating: 'RESIZE', resize_migrated: 'RESIZE', resize_finish: 'RESIZE' } as const;
const REBUILD_TASKS = { rebuilding: 'REBUILD', rebuild_block_device_mapping: 'REBUILD', rebuild_spawning: 'REBUILD' } as const;

export const API_STATUS_MAP: Readonly<Record<VmState, ApiStatusRow>> = Object.freeze({
  active: {
    default: 'ACTIVE',
    tasks: {
      rebooting: 'REBOOT', reboot_pending: 'REBOOT', reboot_started: 'REBOOT',
      rebooting_hard: 'HARD_REBOOT', reboot_pending_hard: 'HARD_REBOOT', reboot_started_hard: 'HARD_REBOOT',
      updating_password: 'PASSWORD',
      ...REBUILD_TASKS,
      migrating: 'MIGRATING',
      ...RESIZE_TASKS,
    },
  },
  building: { default: 'BUILD', tasks: {} },
  stopped: { default: 'SHUTOFF', tasks: { ...RESIZE_TASKS, ...REBUILD_TASKS } },
  // Nova shows no CONFIRMING_RESIZE: a resized instance being confirmed still reads VERIFY_RESIZE.
  resized: { default: 'VERIFY_RESIZE', tasks: { resize_reverting: 'REVERT_RESIZE' } },
  paused: { default: 'PAUSED', tasks: { migrating: 'MIGRATING' } },
  suspended: { default: 'SUSPENDED', tasks: {} },
  rescued: { default: 'RESCUE', tasks: {} },
  error: { default: 'ERROR', tasks: { ...REBUILD_TASKS } },
  deleted: { default: 'DELETED', tasks: {} },
  'soft-delete': { default: 'SOFT_DELETED', tasks: {} },
  shelved: { default: 'SHELVED', tasks: {} },
  shelved_offloaded: { default: 'SHELVED_OFFLOADED', tasks: {} },
} satisfies Record<VmState, ApiStatusRow>);

/** The API status for an instance; UNKNOWN for a vm_state Nova does not know (a corrupt row). */
export function apiStatus(vmState: string, taskState?: string | null): ApiStatus {
  const row = (API_STATUS_MAP as Record<string, ApiStatusRow | undefined>)[vmState];
  if (!row) return 'UNKNOWN';
  return (taskState != null ? (row.tasks as Record<string, ApiStatus | undefined>)[taskState] : undefined) ?? row.default;
}

/**
 * What `GET /servers?status=A,B` filters on, as Nova's task_and_vm_state_from_status computes it.
 * `taskStates: null` means "any task state": Nova drops the task filter whenever a requested status
 * is some vm_state's default (so status=ACTIVE also lists an active instance that is rebooting).
 * Both lists are empty when no status matched; the API answers that with 400 from 2.38.
 */
export interface ApiStatusFilter {
  vmStates: VmState[];
  taskStates: TaskState[] | null;
}

export function vmStatesForApiStatus(statuses: string | readonly string[]): ApiStatusFilter {
  const wanted = new Set((typeof statuses === 'string' ? [statuses] : statuses).map((s) => s.trim().toUpperCase()));
  const vmStates = new Set<VmState>();
  const taskStates = new Set<TaskState>();
  let anyTask = false;
  for (const vm of ALL_VM_STATES) {
    const row = API_STATUS_MAP[vm];
    if (wanted.has(row.default)) {
      vmStates.add(vm);
      anyTask = true;
    }
    for (const [task, status] of Object.entries(row.tasks) as [TaskState, ApiStatus][]) {
      if (wanted.has(status)) {
        vmStates.add(vm);
        taskStates.add(task);
      }
    }
  }
  return { vmStates: [...vmStates].sort(), taskStates: anyTask ? null : [...taskStates].sort() };
}
