// The TypeORM DataSource options every Ferry process uses: explicit entities and migrations, never synchronize.
import { DataSource } from 'typeorm';
import type { Logger } from '../log';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';
import { markOwnSessions } from './prepared';
import { PinoTypeOrmLogger, SLOW_QUERY_MS } from './typeorm-logger';

/** Where to connect: a URL, or a socket directory (the embedded database). */
export type DatabaseTarget = { url: string } | { socketDir: string };

export function createDataSource(target: DatabaseTarget, opts: { log: Logger; poolSize: number }): DataSource {
  const where = 'url' in target
    ? { url: target.url }
    : { host: target.socketDir, port: 5432, username: 'postgres', database: 'postgres' };
  const ds = new DataSource({
    type: 'postgres',
    ...where,
    applicationName: 'ferry',
    entities: [...ENTITIES],
    migrations: [...MIGRATIONS],
    migrationsTableName: 'schema_migrations',
    migrationsRun: false,
    synchronize: false,
    dropSchema: false,
    // Ferry's schema needs no extensions (gen_random_uuid is core Postgres); never try to install any.
    installExtensions: false,
    poolSize: opts.poolSize,
    logger: new PinoTypeOrmLogger(opts.log),
    maxQueryExecutionTime: SLOW_QUERY_MS,
  });
  if ('url' in target) markOwnSessions(ds);
  return ds;
}
