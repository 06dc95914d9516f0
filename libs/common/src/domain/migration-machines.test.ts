import { InvalidTransition } from './errors';
import { MIGRATION_MACHINES } from './migration-machines';
import {
  ABORTABLE_LIVE_STATUSES, IN_PROGRESS_LIVE_STATUSES, allNonTerminalStatuses, assertMigrationCreation, assertMigrationTransition,
  canCreateMigration, canTransition, isTerminal, nextStatuses, nonTerminalStatuses, typesAllowing, writersOf,
} from './migration-rules';
import { MIGRATION_STATUSES, MIGRATION_TYPES, SERVICE_ROLES } from './migration-statuses';

const machines = Object.values(MIGRATION_MACHINES);

describe('migration state tables (as data)', () => {
  it('define one machine per migration type', () => {
    expect(Object.keys(MIGRATION_MACHINES).sort()).toEqual([...MIGRATION_TYPES].sort());
    for (const [type, m] of Object.entries(MIGRATION_MACHINES)) expect(m.type).toBe(type);
  });

  it.each(machines)('$type: every transition joins two statuses of its own type', (m) => {
    for (const t of m.transitions) {
      expect(m.statuses).toContain(t.from);
      expect(m.statuses).toContain(t.to);
    }
  });

  it.each(machines)('$type: uses only Nova statuses and known roles, each transition naming at least one writer', (m) => {
    for (const s of m.statuses) expect(MIGRATION_STATUSES).toContain(s);
    for (const t of m.transitions) {
      expect(t.by.length).toBeGreaterThan(0);
      for (const role of t.by) expect(SERVICE_ROLES).toContain(role);
    }
  });

  it.each(machines)('$type: terminal statuses have no outgoing transitions', (m) => {
    for (const s of m.terminal) expect(m.transitions.filter((t) => t.from === s)).toEqual([]);
  });

  it.each(machines)('$type: no transition is listed twice and none loops onto itself', (m) => {
    const keys = m.transitions.map((t) => `${t.from}>${t.to}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const t of m.transitions) expect(t.from).not.toBe(t.to);
  });

  it.each(machines)('$type: every non-terminal status can fail to error and to failed', (m) => {
    for (const s of nonTerminalStatuses(m.type)) {
      expect(canTransition(m.type, s, 'error')).toBe(true);
      expect(canTransition(m.type, s, 'failed')).toBe(true);
    }
  });

  it.each(machines)('$type: every status is reachable from a creation status', (m) => {
    const seen = new Set<string>(m.creations.map((c) => c.status));
    let grew = true;
    while (grew) {
      grew = false;
      for (const t of m.transitions) if (seen.has(t.from) && !seen.has(t.to)) { seen.add(t.to); grew = true; }
    }
    expect([...seen].sort()).toEqual([...m.statuses].sort());
  });

  it.each(machines)('$type: the initial status is the first creation status and is not terminal', (m) => {
    expect(m.initial).toBe(m.creations[0].status);
    expect(m.terminal).not.toContain(m.initial);
  });

  it('tables are frozen', () => {
    expect(Object.isFrozen(MIGRATION_MACHINES.resize.transitions)).toBe(true);
    expect(Object.isFrozen(MIGRATION_MACHINES.resize.transitions[0].by)).toBe(true);
  });
});

describe('cold migration and resize', () => {
  it.each(['migration', 'resize'])('%s follows the DESIGN flow with the right writers', (type) => {
    expect(MIGRATION_MACHINES[type as 'resize'].initial).toBe('pre-migrating');
    expect(canCreateMigration(type, 'pre-migrating', 'dest')).toBe(true);
    expect(canTransition(type, 'pre-migrating', 'migrating', 'source')).toBe(true);
    expect(canTransition(type, 'migrating', 'post-migrating', 'source')).toBe(true);
    expect(canTransition(type, 'post-migrating', 'finished', 'dest')).toBe(true);
    expect(canTransition(type, 'finished', 'confirming', 'api')).toBe(true);
    expect(canTransition(type, 'confirming', 'confirmed', 'source')).toBe(true);
    expect(canTransition(type, 'finished', 'reverting', 'api')).toBe(true);
    expect(canTransition(type, 'reverting', 'reverted', 'source')).toBe(true);
    expect(canTransition(type, 'reverting', 'reverted', 'dest')).toBe(true);
  });

  it('refuses shortcuts and the wrong writer', () => {
    expect(canTransition('resize', 'pre-migrating', 'finished')).toBe(false);
    expect(canTransition('resize', 'migrating', 'post-migrating', 'dest')).toBe(false);
    expect(canTransition('resize', 'finished', 'reverting', 'source')).toBe(false);
    expect(canTransition('resize', 'confirmed', 'reverting')).toBe(false);
  });

  it('terminal statuses', () => {
    for (const s of ['confirmed', 'reverted', 'error', 'failed']) expect(isTerminal('resize', s)).toBe(true);
    for (const s of ['pre-migrating', 'migrating', 'post-migrating', 'finished', 'confirming', 'reverting']) expect(isTerminal('migration', s)).toBe(false);
  });
});

describe('live migration', () => {
  it('is created queued by the destination, or accepted as Nova does', () => {
    expect(MIGRATION_MACHINES['live-migration'].initial).toBe('queued');
    expect(canCreateMigration('live-migration', 'queued', 'dest')).toBe(true);
    expect(canCreateMigration('live-migration', 'accepted')).toBe(true);
    expect(canCreateMigration('live-migration', 'running')).toBe(false);
  });

  it('runs the five phases', () => {
    const path = ['queued', 'preparing', 'running', 'post-migrating', 'completed'];
    for (let i = 1; i < path.length; i++) expect(canTransition('live-migration', path[i - 1], path[i])).toBe(true);
    expect(canTransition('live-migration', 'accepted', 'queued')).toBe(true);
  });

  it('lets the API\'s cleanup finish forward a transferred live migration, and nothing earlier', () => {
    expect(canTransition('live-migration', 'post-migrating', 'completed', 'api')).toBe(true);
    expect(canTransition('live-migration', 'running', 'post-migrating', 'api')).toBe(false);
  });

  it('can be cancelled from every abortable status', () => {
    for (const s of ABORTABLE_LIVE_STATUSES) expect(canTransition('live-migration', s, 'cancelled')).toBe(true);
    expect(canTransition('live-migration', 'completed', 'cancelled')).toBe(false);
  });

  it('in-progress statuses are exactly the non-terminal ones past acceptance', () => {
    expect([...IN_PROGRESS_LIVE_STATUSES]).toEqual(['queued', 'preparing', 'running', 'post-migrating']);
    for (const s of IN_PROGRESS_LIVE_STATUSES) expect(isTerminal('live-migration', s)).toBe(false);
    for (const s of ['completed', 'failed', 'error', 'cancelled']) expect(isTerminal('live-migration', s)).toBe(true);
  });
});

describe('evacuation', () => {
  it('goes accepted → pre-migrating → done → completed', () => {
    expect(canCreateMigration('evacuation', 'accepted', 'api')).toBe(true);
    expect(canTransition('evacuation', 'accepted', 'pre-migrating', 'dest')).toBe(true);
    expect(canTransition('evacuation', 'pre-migrating', 'done', 'dest')).toBe(true);
    expect(canTransition('evacuation', 'done', 'completed', 'source')).toBe(true);
    expect(isTerminal('evacuation', 'done')).toBe(false);
  });

  it('lets the scheduler fail only a record it could not place', () => {
    expect(canTransition('evacuation', 'accepted', 'error', 'scheduler')).toBe(true);
    expect(canTransition('evacuation', 'done', 'error', 'scheduler')).toBe(false);
  });

  it('lets nobody but the returning source end a done record (its stale copy must stay visible to the fence)', () => {
    for (const role of ['api', 'scheduler', 'dest'] as const) {
      for (const to of ['error', 'failed'] as const) expect(canTransition('evacuation', 'done', to, role)).toBe(false);
    }
  });
});

describe('assertions and queries', () => {
  it('assertMigrationTransition throws a typed InvalidTransition (500) with the details', () => {
    expect(() => assertMigrationTransition('resize', 'finished', 'confirming', 'api')).not.toThrow();
    let caught: unknown;
    try { assertMigrationTransition('resize', 'confirmed', 'migrating'); } catch (e) { caught = e; }
    expect(caught).toBeInstanceOf(InvalidTransition);
    expect((caught as InvalidTransition).code).toBe('InvalidTransition');
    expect((caught as InvalidTransition).httpStatus).toBe(500);
    expect((caught as InvalidTransition).details).toEqual({ migration_type: 'resize', from: 'confirmed', to: 'migrating' });
    expect(() => assertMigrationTransition('resize', 'migrating', 'post-migrating', 'dest')).toThrow(InvalidTransition);
    expect(() => assertMigrationTransition('teleport', 'a', 'b')).toThrow(InvalidTransition);
    expect(() => assertMigrationCreation('resize', 'finished')).toThrow(InvalidTransition);
  });

  it('answers next statuses, writers and the types allowing a pair', () => {
    expect(nextStatuses('resize', 'finished', 'api').sort()).toEqual(['confirming', 'error', 'failed', 'reverting']);
    expect([...writersOf('resize', 'post-migrating', 'finished')]).toEqual(['dest']);
    expect(writersOf('resize', 'finished', 'migrating')).toEqual([]);
    expect(typesAllowing('pre-migrating', 'migrating').sort()).toEqual(['migration', 'resize']);
    expect(typesAllowing('pre-migrating', 'done')).toEqual(['evacuation']);
  });

  it('allNonTerminalStatuses covers the union of the types', () => {
    const all = allNonTerminalStatuses();
    for (const s of ['pre-migrating', 'finished', 'queued', 'running', 'done', 'accepted']) expect(all).toContain(s);
    for (const s of ['confirmed', 'completed', 'error', 'failed', 'cancelled', 'reverted']) expect(all).not.toContain(s);
  });
});
