// Progress and bookkeeping writes on a migration (bytes copied, phase timings) that leave its status alone.
import type { DataSource } from 'typeorm';
import { Migration } from '../entities';
import { checkPatch } from './patch-columns';
import { RowUpdate } from './row-update';

const OWNED = ['id', 'uuid', 'instance_uuid', 'migration_type', 'status', 'created_at', 'updated_at'] as const;

/**
 * Applies `patch` to migration `migrationId` only while its status is one of `whileStatus`, so a late
 * progress report cannot overwrite a record another service has already moved on. Returns whether it applied.
 */
export async function patchMigration(ds: DataSource, migrationId: number, whileStatus: readonly string[], patch: Partial<Migration>): Promise<boolean> {
  const values = checkPatch(ds, Migration, patch, OWNED);
  if (whileStatus.length === 0) return false;
  return new RowUpdate(ds, Migration).set(values).setNow('updated_at').whereEquals('id', migrationId).whereIn('status', whileStatus).run();
}
