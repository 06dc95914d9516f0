import { MIGRATION_MACHINES } from './migration-machines';
import {
  COLD_RESUME_STEPS, EVACUATION_RESUME_STEPS, LIVE_RESUME_STEPS, MIGRATION_RECOVERY, recoveryFor, statusesRecoveredWith, type RecoveryAction,
} from './migration-recovery';
import { canTransition, nonTerminalStatuses } from './migration-rules';
import { isColdMove, SERVICE_ROLES, type MigrationStatus, type MigrationType } from './migration-statuses';

const types = Object.keys(MIGRATION_MACHINES) as MigrationType[];

/**
 * Open statuses no role recovers: a record left there (its message lost, its writer down) stays until someone acts.
 * Live `accepted` waits for the scheduler's select_destinations and the destination's checks, neither of which is
 * resumed after a restart; an evacuation `accepted` has no host yet (the elected scheduler's reconciler re-drives both).
 */
const UNOWNED: Readonly<Record<MigrationType, readonly MigrationStatus[]>> = {
  migration: [],
  resize: [],
  'live-migration': ['accepted'],
  evacuation: ['accepted'],
};

function writesOf(action: RecoveryAction) {
  return action.kind === 'wait' ? [] : action.writes;
}

describe('migration recovery tables (as data, beside the machines)', () => {
  it.each(types)('%s: names every open status of its machine for every role, and nothing else', (type) => {
    for (const role of SERVICE_ROLES) {
      expect(Object.keys(MIGRATION_RECOVERY[type][role]).sort()).toEqual(nonTerminalStatuses(type).sort());
    }
  });

  it.each(types)('%s: every open status has an owner with a non-wait action, apart from the known gaps', (type) => {
    const unowned = nonTerminalStatuses(type).filter((status) =>
      SERVICE_ROLES.every((role) => recoveryFor(type, status, role).action.kind === 'wait'));
    expect(unowned.sort()).toEqual([...UNOWNED[type]].sort());
  });

  it.each(types)("%s: every status write of a recovery action is a transition the machine grants that role", (type) => {
    const checked: string[] = [];
    for (const role of SERVICE_ROLES) {
      for (const status of nonTerminalStatuses(type)) {
        for (const write of writesOf(recoveryFor(type, status, role).action)) {
          expect({ role, ...write, allowed: canTransition(type, write.from, write.to, role) }).toEqual({ role, ...write, allowed: true });
          checked.push(`${role}:${write.from}>${write.to}`);
        }
      }
    }
    // Every machine's recovery writes statuses: the check above is not vacuous.
    expect(checked.length).toBeGreaterThan(0);
  });

  it.each(types)('%s: an action writes from its own status, or from one its own writes moved the record on to', (type) => {
    for (const role of SERVICE_ROLES) {
      for (const status of nonTerminalStatuses(type)) {
        const writes = writesOf(recoveryFor(type, status, role).action);
        const reached = new Set<string>([status]);
        for (let grew = true; grew;) {
          grew = false;
          for (const w of writes) if (reached.has(w.from) && !reached.has(w.to)) { reached.add(w.to); grew = true; }
        }
        for (const w of writes) expect({ role, status, from: w.from, reachable: reached.has(w.from) }).toEqual({ role, status, from: w.from, reachable: true });
      }
    }
  });

  it('only the computes recover: the API and the scheduler wait in every status', () => {
    for (const type of types) {
      for (const role of ['api', 'scheduler'] as const) {
        for (const status of nonTerminalStatuses(type)) expect(recoveryFor(type, status, role).action.kind).toBe('wait');
      }
    }
  });

  it('each table names only its own kind of steps', () => {
    for (const type of types) {
      const steps = isColdMove(type) ? COLD_RESUME_STEPS : type === 'evacuation' ? EVACUATION_RESUME_STEPS : LIVE_RESUME_STEPS;
      for (const role of SERVICE_ROLES) {
        for (const status of nonTerminalStatuses(type)) {
          const { action } = recoveryFor(type, status, role);
          if (action.kind === 'resume') expect(steps as readonly string[]).toContain(action.step);
          if (isColdMove(type)) expect(['resume', 'wait']).toContain(action.kind);
        }
      }
    }
  });

  it('cold moves: the source copies, hands over, confirms and finishes a revert; the destination finishes and reverts', () => {
    const step = (status: string, role: 'source' | 'dest') => {
      const { action } = recoveryFor('resize', status, role);
      return action.kind === 'resume' ? action.step : action.kind;
    };
    expect(['pre-migrating', 'migrating', 'post-migrating', 'finished', 'confirming', 'reverting'].map((s) => step(s, 'source')))
      .toEqual(['resize-instance', 'resize-instance', 'hand-over', 'wait', 'confirm-resize', 'finish-revert-resize']);
    expect(['pre-migrating', 'migrating', 'post-migrating', 'finished', 'confirming', 'reverting'].map((s) => step(s, 'dest')))
      .toEqual(['cast-resize-instance', 'wait', 'finish-resize', 'finish-resize', 'wait', 'revert-resize']);
    expect(MIGRATION_RECOVERY.migration).toEqual(MIGRATION_RECOVERY.resize);
  });

  it('a deleted instance drops the move, except for a confirm under way, which ends its record; waiting hosts leave it', () => {
    expect(recoveryFor('resize', 'confirming', 'source').whenDeleting).toBe('proceed');
    expect(recoveryFor('resize', 'migrating', 'source').whenDeleting).toBe('drop');
    expect(recoveryFor('resize', 'finished', 'dest').whenDeleting).toBe('drop');
    expect(recoveryFor('resize', 'confirming', 'dest').whenDeleting).toBe('skip');
    // Any host of an open live migration drops its part of a deleted instance's move.
    for (const status of nonTerminalStatuses('live-migration')) {
      expect(recoveryFor('live-migration', status, 'source').whenDeleting).toBe('drop');
      expect(recoveryFor('live-migration', status, 'dest').whenDeleting).toBe('drop');
    }
  });

  it('live migration: queued starts again, preparing rolls back, past Perform the source settles; the destination waits', () => {
    expect(recoveryFor('live-migration', 'queued', 'source').action).toMatchObject({ kind: 'resume', step: 'start-live-migration' });
    expect(recoveryFor('live-migration', 'preparing', 'source').action.kind).toBe('rollback');
    expect(statusesRecoveredWith('live-migration', 'source', 'settle').sort()).toEqual(['post-migrating', 'running']);
    expect(statusesRecoveredWith('live-migration', 'dest', 'wait').sort()).toEqual(nonTerminalStatuses('live-migration').sort());
  });

  it('evacuation: the destination rebuilds again, the returning source fences a done one, accepted waits for the scheduler', () => {
    expect(recoveryFor('evacuation', 'pre-migrating', 'dest').action).toMatchObject({ kind: 'resume', step: 'rebuild-instance' });
    expect(recoveryFor('evacuation', 'done', 'source')).toMatchObject({ action: { kind: 'resume', step: 'fence-evacuated' }, whenDeleting: 'proceed' });
    expect(recoveryFor('evacuation', 'pre-migrating', 'source').action.kind).toBe('wait');
    expect(recoveryFor('evacuation', 'accepted', 'dest').action.kind).toBe('wait');
  });

  it('a terminal or unknown status, or an unknown type, waits', () => {
    expect(recoveryFor('resize', 'confirmed', 'source').action.kind).toBe('wait');
    expect(recoveryFor('resize', 'nope', 'dest').action.kind).toBe('wait');
    expect(recoveryFor('teleport', 'queued', 'source').action.kind).toBe('wait');
  });
});
