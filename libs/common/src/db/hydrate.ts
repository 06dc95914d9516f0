// Entities from the rows of a hand-written statement, each column's value made what TypeORM's own reads make it (dates,
// transformers such as bigint → number), so a caller cannot tell the two apart.
import { EntityManager, type EntityTarget, type ObjectLiteral } from 'typeorm';
import { metadataOf, type Db } from './db-handle';

/**
 * The entity of `row`, keyed by column name as the database names it (a row of the table, or its to_jsonb). Columns
 * the row lacks stay unset; keys that are no column are ignored.
 */
export function hydrate<T extends ObjectLiteral>(db: Db, entity: EntityTarget<T>, row: Record<string, unknown>): T {
  const meta = metadataOf(db, entity);
  const driver = (db instanceof EntityManager ? db.connection : db).driver;
  const out = meta.create() as T;
  for (const column of meta.columns) {
    if (!(column.databaseName in row)) continue;
    column.setEntityValue(out, driver.prepareHydratedValue(row[column.databaseName], column));
  }
  return out;
}
