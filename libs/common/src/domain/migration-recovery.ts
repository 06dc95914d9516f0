// What a restarted (or periodic) recovery does with an unfinished record, as data beside the machines: for each
// type, non-terminal status and role, resume a step, roll back, settle (ask the other side first) or wait.
import { MIGRATION_MACHINES, type MigrationStateMachine } from './migration-machines';
import { isMigrationType, SERVICE_ROLES, type MigrationStatus, type MigrationType, type ServiceRole } from './migration-statuses';

/** A status write a recovery action may make. */
export interface StatusWrite {
  readonly from: MigrationStatus;
  readonly to: MigrationStatus;
}

/** The steps a compute resumes a cold move with; each names the handler that runs it. */
export const COLD_RESUME_STEPS = [
  'resize-instance', 'hand-over', 'confirm-resize', 'finish-revert-resize', 'cast-resize-instance', 'finish-resize', 'revert-resize',
] as const;
export type ColdResumeStep = (typeof COLD_RESUME_STEPS)[number];

export const LIVE_RESUME_STEPS = ['start-live-migration'] as const;
export type LiveResumeStep = (typeof LIVE_RESUME_STEPS)[number];

/** The destination rebuilds (idempotently); the returning source fences (destroys its stale copy, completes). */
export const EVACUATION_RESUME_STEPS = ['rebuild-instance', 'fence-evacuated'] as const;
export type EvacuationResumeStep = (typeof EVACUATION_RESUME_STEPS)[number];

export type ResumeStep = ColdResumeStep | LiveResumeStep | EvacuationResumeStep;

export type RecoveryAction =
  /** Run `step` again (every step is idempotent and checks the record before it acts). */
  | { readonly kind: 'resume'; readonly step: ResumeStep; readonly writes: readonly StatusWrite[] }
  /** Undo the move here: the guest stays (or runs again) where it ran. */
  | { readonly kind: 'rollback'; readonly writes: readonly StatusWrite[] }
  /** Ask the other host what it holds, then go forward or roll back; when it cannot tell, touch nothing. */
  | { readonly kind: 'settle'; readonly writes: readonly StatusWrite[] }
  /** Another role owns the record in this status. */
  | { readonly kind: 'wait' };

/**
 * What recovery does instead when the record's instance is being deleted: `drop` this host's part of the move
 * (terminate), `proceed` with the action all the same (it ends its record and needs no instance), or `skip` it.
 */
export type WhenDeleting = 'drop' | 'proceed' | 'skip';

export interface RecoveryEntry {
  readonly action: RecoveryAction;
  readonly whenDeleting: WhenDeleting;
}

type RoleSpec = Partial<Record<ServiceRole, Partial<Record<MigrationStatus, RecoveryEntry>>>>;

export type RecoveryTable = Readonly<Record<ServiceRole, Readonly<Partial<Record<MigrationStatus, RecoveryEntry>>>>>;

function w(from: MigrationStatus, ...to: MigrationStatus[]): StatusWrite[] {
  return to.map((t) => ({ from, to: t }));
}

function resume(step: ResumeStep, writes: readonly StatusWrite[] = [], whenDeleting: WhenDeleting = 'drop'): RecoveryEntry {
  return { action: { kind: 'resume', step, writes }, whenDeleting };
}

/**
 * Fills every non-terminal status of the machine for every role, `wait` (with `waitWhenDeleting`) where the spec
 * names nothing; a spec naming a status the machine does not have (or a terminal one) is a bug, thrown at load.
 */
function recoveryTable(m: MigrationStateMachine, spec: RoleSpec, waitWhenDeleting: WhenDeleting): RecoveryTable {
  const open = m.statuses.filter((s) => !m.terminal.includes(s));
  const table = {} as Record<ServiceRole, Partial<Record<MigrationStatus, RecoveryEntry>>>;
  for (const role of SERVICE_ROLES) {
    const given = spec[role] ?? {};
    for (const status of Object.keys(given)) {
      if (!open.includes(status as MigrationStatus)) throw new Error(`${m.type} recovery names ${status}, not an open status of its machine`);
    }
    table[role] = Object.fromEntries(open.map((s) => [s, given[s] ?? { action: { kind: 'wait' }, whenDeleting: waitWhenDeleting }]));
  }
  return Object.freeze(table);
}

/** What resize_instance on the source may write once the record is migrating (the copy, or its rollback). */
const COPY_WRITES = w('migrating', 'post-migrating', 'error');

/**
 * Cold moves: the source copies and hands over, the destination finishes; confirm runs on the source, revert on the
 * destination and then the source. A confirm under way ends its record even when the instance is being deleted.
 * Statuses a host waits in are left alone when the instance is deleting (the owner drops the move).
 */
const coldSpec: RoleSpec = {
  source: {
    'pre-migrating': resume('resize-instance', [...w('pre-migrating', 'migrating', 'error'), ...COPY_WRITES]),
    migrating: resume('resize-instance', COPY_WRITES),
    // The record moved on but the instance or the finish_resize cast may not have.
    'post-migrating': resume('hand-over'),
    confirming: resume('confirm-resize', w('confirming', 'confirmed', 'error'), 'proceed'),
    reverting: resume('finish-revert-resize', w('reverting', 'reverted')),
  },
  dest: {
    // The destination created the record; its resize_instance cast to the source may have been lost.
    'pre-migrating': resume('cast-resize-instance'),
    'post-migrating': resume('finish-resize', w('post-migrating', 'finished', 'error')),
    finished: resume('finish-resize'),
    reverting: resume('revert-resize', w('reverting', 'error')),
  },
};

/** What the source may write once Finish may have run: Confirm completes the move, or the settle rolls it back. */
const CONFIRM_WRITES = w('post-migrating', 'completed', 'failed');

/**
 * Live migration, driven by the source. A queued run starts again; one preparing lost its job with the process and
 * rolls back (libvirt's rule); past Perform the destination is asked first. Any open record of a deleted instance,
 * whatever this host's role, is dropped here.
 */
const liveSpec: RoleSpec = {
  source: {
    queued: resume('start-live-migration', [
      ...w('queued', 'preparing'), ...w('preparing', 'running', 'failed', 'cancelled'),
      ...w('running', 'post-migrating', 'failed', 'cancelled'), ...w('post-migrating', 'completed', 'failed', 'cancelled'),
    ]),
    preparing: { action: { kind: 'rollback', writes: w('preparing', 'failed') }, whenDeleting: 'drop' },
    running: { action: { kind: 'settle', writes: [...w('running', 'post-migrating', 'failed'), ...CONFIRM_WRITES] }, whenDeleting: 'drop' },
    'post-migrating': { action: { kind: 'settle', writes: CONFIRM_WRITES }, whenDeleting: 'drop' },
  },
};

/**
 * Evacuation: the destination runs its rebuild again (each step checks the record and the instance first); the source,
 * when it returns, fences a `done` one. `accepted` has no host yet: the elected scheduler's reconciler re-drives it.
 * A rebuild of a deleted instance drops what it made; a fence proceeds (the stale copy goes either way).
 */
const evacuationSpec: RoleSpec = {
  dest: { 'pre-migrating': resume('rebuild-instance', w('pre-migrating', 'done', 'failed', 'error')) },
  source: { done: resume('fence-evacuated', w('done', 'completed'), 'proceed') },
};

export const MIGRATION_RECOVERY: Readonly<Record<MigrationType, RecoveryTable>> = Object.freeze({
  migration: recoveryTable(MIGRATION_MACHINES.migration, coldSpec, 'skip'),
  resize: recoveryTable(MIGRATION_MACHINES.resize, coldSpec, 'skip'),
  'live-migration': recoveryTable(MIGRATION_MACHINES['live-migration'], liveSpec, 'drop'),
  evacuation: recoveryTable(MIGRATION_MACHINES.evacuation, evacuationSpec, 'skip'),
});

const WAIT: RecoveryEntry = Object.freeze({ action: Object.freeze({ kind: 'wait' }), whenDeleting: 'skip' });

/** What `role` does on recovery for a `type` record in `status`; `wait` for a terminal or unknown status. */
export function recoveryFor(type: string, status: string, role: ServiceRole): RecoveryEntry {
  return (isMigrationType(type) && MIGRATION_RECOVERY[type][role][status as MigrationStatus]) || WAIT;
}

/** The open statuses of `type` in which `role` recovers with `kind` (e.g. the statuses the source settles). */
export function statusesRecoveredWith(type: MigrationType, role: ServiceRole, kind: RecoveryAction['kind']): MigrationStatus[] {
  const byStatus = MIGRATION_RECOVERY[type][role];
  return (Object.keys(byStatus) as MigrationStatus[]).filter((s) => byStatus[s]!.action.kind === kind);
}
