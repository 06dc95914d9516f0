import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate, MIGRATIONS, openDatabase, type FerryDatabase } from '@ferry/common/db';
import { createTestDatabase, type TestDatabase } from '../../support/db';

const stateDir = mkdtempSync(join(tmpdir(), 'ferry-migrate-'));

const TABLES = [
  'allocations', 'compute_nodes', 'flavors', 'host_drains', 'images', 'instance_action_events', 'instance_actions', 'instance_faults',
  'instances', 'migrations', 'projects', 'role_assignments', 'schema_migrations', 'services', 'tokens', 'users',
];

describe('schema migrations on Postgres', () => {
  let tdb: TestDatabase;
  const opened: FerryDatabase[] = [];
  const open = async () => {
    const db = await openDatabase({ url: tdb.url, stateDir, poolSize: 2 });
    opened.push(db);
    return db;
  };

  beforeEach(async () => {
    tdb = await createTestDatabase();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((db) => db.close()));
    await tdb.drop();
  });

  it('apply every migration on a fresh database, and a second run is a no-op', async () => {
    const db = await open();
    const first = await migrate(db.dataSource);
    expect(first.applied).toEqual(MIGRATIONS.map((m) => m.name));
    const tables = await db.dataSource.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`);
    expect(tables.map((r: { table_name: string }) => r.table_name)).toEqual(TABLES);

    const second = await migrate(db.dataSource);
    expect(second.applied).toEqual([]);
    const recorded = await db.dataSource.query('SELECT name FROM schema_migrations');
    expect(recorded).toHaveLength(MIGRATIONS.length);
  });

  it('two concurrent runs on separate connection pools both succeed and apply each migration once', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    const [ra, rb] = await Promise.all([migrate(a.dataSource), migrate(b.dataSource)]);
    expect([...ra.applied, ...rb.applied]).toEqual(MIGRATIONS.map((m) => m.name));
    const recorded = await a.dataSource.query('SELECT name FROM schema_migrations');
    expect(recorded).toHaveLength(MIGRATIONS.length);
  });

  it('never synchronizes: opening a database leaves it empty until migrate runs', async () => {
    const db = await open();
    const tables = await db.dataSource.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'`);
    expect(tables[0].n).toBe(0);
    expect(db.dataSource.options.synchronize).toBe(false);
    expect(db.dataSource.options.migrationsRun).toBe(false);
  });
});
