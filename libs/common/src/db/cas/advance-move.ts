// A move's record and its instance advanced by one statement: the record's compare-and-set, and the instance's, which
// applies only where the record's did. One round trip and one commit, and never an instance that moved on alone.
import type { ServiceRole } from '../../domain';
import type { Db } from '../db-handle';
import type { Migration } from '../entities';
import { instanceUpdateIf, type InstanceExpectation, type InstanceStatePatch } from '../repos/instances';
import { migrationAdvance } from './advance-migration';
import { runStatementParts, SqlParams } from './row-update';

/** The record's step: as advanceMigration's arguments. */
export interface RecordStep {
  migrationId: number;
  from: readonly string[];
  to: string;
  by: ServiceRole;
  patch?: Partial<Migration>;
}

/** The instance's step: as updateInstanceIf's arguments. */
export interface InstanceStep {
  uuid: string;
  expected: InstanceExpectation;
  patch: InstanceStatePatch;
}

/**
 * Advances the record as advanceMigration would and, only if that changed it, the instance as updateInstanceIf would,
 * in one statement. Either check is made before the database is touched, as each function's own. Returns which of
 * the two changed: `instance` is never true without `record`; `record` without `instance` means the instance was
 * no longer as expected (e.g. a delete took its task), which the caller handles as it would after two writes.
 */
export async function advanceMoveAndInstance(db: Db, record: RecordStep, instance: InstanceStep): Promise<{ record: boolean; instance: boolean }> {
  const params = new SqlParams();
  const recordUpdate = migrationAdvance(db, params, record.migrationId, record.from, record.to, record.by, record.patch);
  const instanceUpdate = instanceUpdateIf(db, params, instance.uuid, instance.expected, instance.patch).whereSql('EXISTS (SELECT 1 FROM record)');
  const [recordChanged, instanceChanged] = await runStatementParts(db, [['record', recordUpdate], ['instance', instanceUpdate]]);
  return { record: recordChanged === 1, instance: instanceChanged === 1 };
}
