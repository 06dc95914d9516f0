// What repository and compare-and-set functions run on: the pool, or the EntityManager of a transaction the caller
// opened so that several writes land together.
import { EntityManager, type DataSource, type EntityMetadata, type EntityTarget, type ObjectLiteral } from 'typeorm';

export type Db = DataSource | EntityManager;

/** The entity's metadata, through whichever handle the caller holds. */
export function metadataOf<T extends ObjectLiteral>(db: Db, entity: EntityTarget<T>): EntityMetadata {
  return (db instanceof EntityManager ? db.connection : db).getMetadata(entity);
}
