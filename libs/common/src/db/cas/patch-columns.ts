// Checks a CAS helper's patch: only real columns, never the ones the helper itself owns.
import type { EntityTarget, ObjectLiteral } from 'typeorm';
import { metadataOf, type Db } from '../db-handle';

/** Rejects patches that would write a column the caller must not set through them (a programming error). */
export function checkPatch<T extends ObjectLiteral>(db: Db, entity: EntityTarget<T>, patch: Partial<T> | undefined, owned: readonly string[]): Partial<T> {
  if (!patch) return {};
  const meta = metadataOf(db, entity);
  for (const key of Object.keys(patch)) {
    if (owned.includes(key)) throw new Error(`${meta.tableName}: ${key} cannot be set through a patch`);
    if (!meta.findColumnWithPropertyName(key)) throw new Error(`${meta.tableName}: no column ${key}`);
  }
  return patch;
}
