// The only way a migration's status changes: a compare-and-set that reports whether this caller won.
import type { Db } from '../db-handle';
import { InvalidTransition, typesAllowing, type MigrationType, type ServiceRole } from '../../domain';
import { Migration } from '../entities';
import { checkPatch } from './patch-columns';
import { RowUpdate, SqlParams } from './row-update';

/** Columns advanceMigration (or nothing) writes; a patch may not touch them. */
const OWNED = ['id', 'uuid', 'instance_uuid', 'migration_type', 'status', 'created_at', 'updated_at'] as const;

/**
 * Moves migration `migrationId` to `to` if its status is one of `from`, applying `patch` in the same
 * statement; `by` is the role of the writer. Every from → to pair is checked against the domain tables first:
 * a pair no migration type allows `by` to write throws InvalidTransition before the database is touched. The
 * update also requires the row's own type to allow `by` its current status → to, so a record can never take
 * a step its table lacks, nor one written by a role its table does not name.
 * Returns true when this call made the change (exactly one row), false when the row was elsewhere.
 */
export async function advanceMigration(
  ds: Db,
  migrationId: number,
  from: readonly string[],
  to: string,
  by: ServiceRole,
  patch?: Partial<Migration>,
): Promise<boolean> {
  return migrationAdvance(ds, new SqlParams(), migrationId, from, to, by, patch).run();
}

/**
 * advanceMigration's update, checked and built but not run: to run with other row updates as one statement
 * (runStatementParts). Throws InvalidTransition as advanceMigration does.
 */
export function migrationAdvance(
  ds: Db, params: SqlParams, migrationId: number, from: readonly string[], to: string, by: ServiceRole, patch?: Partial<Migration>,
): RowUpdate<Migration> {
  if (from.length === 0) throw new InvalidTransition(`advanceMigration to ${to} needs at least one from-status`, { to, role: by });
  const allowed = new Map<string, MigrationType[]>();
  for (const status of new Set(from)) {
    const types = typesAllowing(status, to, by);
    if (types.length === 0) throw refused(migrationId, status, to, by);
    allowed.set(status, types);
  }
  const values = checkPatch(ds, Migration, patch, OWNED);
  return new RowUpdate(ds, Migration, params)
    .set({ ...values, status: to })
    .setNow('updated_at')
    .whereEquals('id', migrationId)
    .whereAny([...allowed].map(([status, types]) => [['status', [status]], ['migration_type', types]] as const));
}

function refused(migrationId: number, from: string, to: string, role: ServiceRole): InvalidTransition {
  const types = typesAllowing(from, to);
  const details = { migration_id: migrationId, from, to, role, types_with_transition: types };
  if (types.length === 0) return new InvalidTransition(`migration ${migrationId}: ${from} -> ${to} is not in any state table`, details);
  return new InvalidTransition(`migration ${migrationId}: ${from} -> ${to} may not be written by ${role} (in ${types.join(', ')})`, details);
}
