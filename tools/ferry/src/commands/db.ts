// `ferry db migrate`: brings the schema up to date (and seeds a fresh database).
import type { FerryConfig } from '@ferry/common/config';
import { migrate, seed } from '@ferry/common/db';
import { openDb, rootLogger } from '../runtime';

export async function dbMigrate(config: Readonly<FerryConfig>): Promise<void> {
  const log = rootLogger(config).child({ service: 'ferry-db' });
  const db = await openDb(config, log);
  try {
    const { applied } = await migrate(db.dataSource);
    await seed(db.dataSource, { adminPassword: config.adminPassword, demoPassword: config.demoPassword });
    process.stdout.write(applied.length ? `applied ${applied.length} migration(s): ${applied.join(', ')}\n` : 'database schema is up to date\n');
  } finally {
    await db.close();
  }
}
