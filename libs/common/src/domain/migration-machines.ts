// The migration state machines as data: for each type, how a record starts, where it may go, who writes each step.
import type { MigrationStatus, MigrationType, ServiceRole } from './migration-statuses';

export interface MigrationTransition {
  readonly from: MigrationStatus;
  readonly to: MigrationStatus;
  /** The roles allowed to write this transition. */
  readonly by: readonly ServiceRole[];
}

/** A status a new record may be inserted with, and who may insert it. */
export interface MigrationCreation {
  readonly status: MigrationStatus;
  readonly by: readonly ServiceRole[];
}

export interface MigrationStateMachine {
  readonly type: MigrationType;
  /** The status Ferry itself creates records with. */
  readonly initial: MigrationStatus;
  /** Every status a record may be created with: `initial` first, then Nova's aliases. */
  readonly creations: readonly MigrationCreation[];
  readonly statuses: readonly MigrationStatus[];
  readonly terminal: readonly MigrationStatus[];
  readonly transitions: readonly MigrationTransition[];
}

/** Failure exits: `failed` = rolled back cleanly, the instance runs where it ran; `error` = needs attention or cleanup. */
const FAILURE_STATUSES = ['error', 'failed'] as const satisfies readonly MigrationStatus[];

function step(from: MigrationStatus, to: MigrationStatus, ...by: ServiceRole[]): MigrationTransition {
  return { from, to, by };
}

type FailureWriters = (from: MigrationStatus) => readonly ServiceRole[];

function failures(from: readonly MigrationStatus[], writers: FailureWriters): MigrationTransition[] {
  return from.flatMap((status) => FAILURE_STATUSES.map((to) => step(status, to, ...writers(status))));
}

/** Builds a machine from its forward steps; every non-terminal status also gets both failure exits. */
function machine(spec: Omit<MigrationStateMachine, 'statuses' | 'initial'> & { failureWriters: FailureWriters }): MigrationStateMachine {
  const forward = spec.transitions;
  const nonTerminal = [...new Set([...spec.creations.map((c) => c.status), ...forward.flatMap((t) => [t.from, t.to])])]
    .filter((s) => !spec.terminal.includes(s));
  const transitions = [...forward, ...failures(nonTerminal, spec.failureWriters)];
  const statuses = [...new Set([...spec.creations.map((c) => c.status), ...transitions.flatMap((t) => [t.from, t.to]), ...spec.terminal])];
  return deepFreeze({ type: spec.type, initial: spec.creations[0].status, creations: spec.creations, statuses, terminal: spec.terminal, transitions });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * Cold migration and resize. The destination creates the record and proxies to the source, which copies
 * while the guest runs, powers off and copies the rest; the destination defines and starts the guest.
 * Confirm and revert are asked by the API (or the destination's auto-confirm after resize_confirm_window); a host
 * drain confirms the cold moves it started (the scheduler).
 */
function coldMachine(type: 'migration' | 'resize'): MigrationStateMachine {
  return machine({
    type,
    creations: [{ status: 'pre-migrating', by: ['dest'] }],
    terminal: ['confirmed', 'reverted', 'error', 'failed'],
    transitions: [
      step('pre-migrating', 'migrating', 'source'),
      step('migrating', 'post-migrating', 'source'),
      step('post-migrating', 'finished', 'dest'),
      step('finished', 'confirming', 'api', 'dest', 'scheduler'),
      step('confirming', 'confirmed', 'source'),
      step('finished', 'reverting', 'api'),
      // The destination drops its copy first; the source finishes the revert. Either may write the end.
      step('reverting', 'reverted', 'dest', 'source'),
    ],
    failureWriters: () => ['api', 'source', 'dest'],
  });
}

/**
 * Live migration, libvirt's five phases driven by the source. Nova's conductor creates records as
 * `accepted`; Ferry's destination creates them `queued` after its checks. An abort is accepted while
 * queued, preparing or running; when it lands after Perform, Finish still runs (post-migrating) and the
 * source's Confirm ends the record `cancelled`.
 */
const liveMachine = machine({
  type: 'live-migration',
  creations: [
    { status: 'queued', by: ['dest'] },
    { status: 'accepted', by: ['api', 'scheduler', 'dest'] },
  ],
  terminal: ['completed', 'failed', 'error', 'cancelled'],
  transitions: [
    step('accepted', 'queued', 'dest', 'source'),
    step('accepted', 'preparing', 'source'),
    step('queued', 'preparing', 'source'),
    step('preparing', 'running', 'source'),
    step('running', 'post-migrating', 'source', 'dest'),
    // The API's `cleanup` finishes forward a move whose destination runs the guest once the source's copy is gone.
    step('post-migrating', 'completed', 'source', 'api'),
    step('queued', 'cancelled', 'api', 'source', 'dest'),
    step('preparing', 'cancelled', 'api', 'source', 'dest'),
    step('running', 'cancelled', 'source', 'dest'),
    step('post-migrating', 'cancelled', 'source'),
  ],
  // Only a record the scheduler could not place (accepted) is failed by the scheduler.
  failureWriters: (from) => (from === 'accepted' ? ['api', 'scheduler', 'dest'] : ['api', 'source', 'dest']),
});

/**
 * Evacuation: the source host is down. The API records the request, the destination rebuilds the
 * instance (`done`), and the source completes the record when it comes back and drops its stale copy.
 */
const evacuationMachine = machine({
  type: 'evacuation',
  creations: [{ status: 'accepted', by: ['api'] }],
  terminal: ['completed', 'error', 'failed'],
  transitions: [
    step('accepted', 'pre-migrating', 'dest'),
    step('pre-migrating', 'done', 'dest'),
    step('done', 'completed', 'source'),
  ],
  failureWriters: (from) => {
    if (from === 'accepted') return ['api', 'scheduler', 'dest'];
    if (from === 'pre-migrating') return ['api', 'dest'];
    // A done evacuation only waits for its source to destroy the stale copy: ending it otherwise would hide that copy
    // from the fence, and the source would run a second copy when it returns.
    return ['source'];
  },
});

export const MIGRATION_MACHINES: Readonly<Record<MigrationType, MigrationStateMachine>> = Object.freeze({
  migration: coldMachine('migration'),
  resize: coldMachine('resize'),
  'live-migration': liveMachine,
  evacuation: evacuationMachine,
});
