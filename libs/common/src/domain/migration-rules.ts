// Questions asked of the migration tables: may this status be written, by whom, and is the record finished.
import { InvalidTransition } from './errors/invalid-transition';
import { MIGRATION_MACHINES, type MigrationStateMachine, type MigrationTransition } from './migration-machines';
import { isMigrationType, type MigrationStatus, type MigrationType, type ServiceRole } from './migration-statuses';

/** Live migrations shown by GET /servers/{id}/migrations: Nova's in-progress set. */
export const IN_PROGRESS_LIVE_STATUSES: readonly MigrationStatus[] = Object.freeze(['queued', 'preparing', 'running', 'post-migrating']);

/** Live migrations an abort (DELETE …/migrations/{id}) may cancel from microversion 2.65. */
export const ABORTABLE_LIVE_STATUSES: readonly MigrationStatus[] = Object.freeze(['queued', 'preparing', 'running']);

/** Live migrations an abort may cancel at microversions 2.24–2.64. */
export const ABORTABLE_LIVE_STATUSES_BEFORE_2_65: readonly MigrationStatus[] = Object.freeze(['running']);

/** Live migrations force-complete (2.22+) applies to. */
export const FORCE_COMPLETABLE_LIVE_STATUSES: readonly MigrationStatus[] = Object.freeze(['running']);

/** The cold-move status confirmResize and revertResize act on; it still holds claims on both hosts. */
export const RESIZE_AWAITING_CONFIRM_STATUS: MigrationStatus = 'finished';

export function migrationMachine(type: string): MigrationStateMachine {
  if (!isMigrationType(type)) throw new InvalidTransition(`unknown migration type ${JSON.stringify(type)}`, { migration_type: type });
  return MIGRATION_MACHINES[type];
}

function findTransition(type: MigrationType, from: string, to: string): MigrationTransition | undefined {
  return MIGRATION_MACHINES[type].transitions.find((t) => t.from === from && t.to === to);
}

/** Whether from → to is in the table for type (and, given a role, whether that role may write it). */
export function canTransition(type: string, from: string, to: string, role?: ServiceRole): boolean {
  if (!isMigrationType(type)) return false;
  const t = findTransition(type, from, to);
  return t !== undefined && (role === undefined || t.by.includes(role));
}

/** Throws InvalidTransition unless canTransition(type, from, to, role). */
export function assertMigrationTransition(type: string, from: string, to: string, role?: ServiceRole): void {
  if (canTransition(type, from, to, role)) return;
  const allowed = isMigrationType(type) && findTransition(type, from, to);
  const why = allowed ? `may not be written by ${role}` : 'is not in the state table';
  throw new InvalidTransition(`${type} migration: ${from} -> ${to} ${why}`, { migration_type: type, from, to, ...(role ? { role } : {}) });
}

/** Whether a new record of type may start in status (and be inserted by role). */
export function canCreateMigration(type: string, status: string, role?: ServiceRole): boolean {
  if (!isMigrationType(type)) return false;
  const c = MIGRATION_MACHINES[type].creations.find((x) => x.status === status);
  return c !== undefined && (role === undefined || c.by.includes(role));
}

export function assertMigrationCreation(type: string, status: string, role?: ServiceRole): void {
  if (canCreateMigration(type, status, role)) return;
  throw new InvalidTransition(`${type} migration may not be created in status ${status}${role ? ` by ${role}` : ''}`, {
    migration_type: type, from: null, to: status, ...(role ? { role } : {}),
  });
}

export function isTerminal(type: string, status: string): boolean {
  return migrationMachine(type).terminal.includes(status as MigrationStatus);
}

/** Statuses in which a record of type still has work to do (recovery looks at these). */
export function nonTerminalStatuses(type: string): MigrationStatus[] {
  const m = migrationMachine(type);
  return m.statuses.filter((s) => !m.terminal.includes(s));
}

/** Every status that is non-terminal in at least one type: what "unfinished migrations" means in a query. */
/**
 * Statuses in which a move of type is under way: not over, and not waiting on a person or a host's return (a resize
 * `finished` waits for confirm or revert; an evacuation `done` waits for its source to come back).
 */
export function inFlightStatuses(type: string): MigrationStatus[] {
  return nonTerminalStatuses(type).filter((s) => s !== 'finished' && s !== 'done');
}

export function allNonTerminalStatuses(): MigrationStatus[] {
  return [...new Set(Object.keys(MIGRATION_MACHINES).flatMap((t) => nonTerminalStatuses(t)))];
}

/** The statuses reachable from `from` in one step, optionally only those role may write. */
export function nextStatuses(type: string, from: string, role?: ServiceRole): MigrationStatus[] {
  return migrationMachine(type).transitions.filter((t) => t.from === from && (role === undefined || t.by.includes(role))).map((t) => t.to);
}

/** The roles allowed to write from → to; empty when the transition is not in the table. */
export function writersOf(type: string, from: string, to: string): readonly ServiceRole[] {
  return isMigrationType(type) ? (findTransition(type, from, to)?.by ?? []) : [];
}

/** The migration types in which from → to is allowed (given a role, allowed to that role). */
export function typesAllowing(from: string, to: string, role?: ServiceRole): MigrationType[] {
  return (Object.keys(MIGRATION_MACHINES) as MigrationType[]).filter((type) => canTransition(type, from, to, role));
}
