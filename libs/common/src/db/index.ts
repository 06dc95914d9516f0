// Ferry's database layer: entities, hand-written migrations, seed data, the database factory, and the
// compare-and-set helpers through which every status is written.
export * from './entities';
export { MIGRATIONS } from './migrations';
export { migrate, MIGRATE_LOCK_KEY, type MigrateResult } from './migrate';
export * from './seed';
export { openDatabase, DEFAULT_POOL_SIZE, type FerryDatabase, type OpenDatabaseOptions } from './open-database';
export { createDataSource, type DatabaseTarget } from './data-source';
export { queryPrepared } from './prepared';
export { embeddedSocketDir, embeddedSocketPath, embeddedDataDir, SOCKET_FILE_NAME } from './embedded/paths';
export { EMBEDDED_MAX_CONNECTIONS } from './embedded/embedded-server';
export { PinoTypeOrmLogger, redactDatabaseUrl } from './typeorm-logger';
export { isDatabaseUnavailable } from './unavailable';
export { type Db } from './db-handle';
export * from './cas';
export * from './repos';
