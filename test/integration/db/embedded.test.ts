import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { EMBEDDED_MAX_CONNECTIONS, Instance, MIGRATIONS, SOCKET_FILE_NAME, embeddedSocketDir, migrate, openDatabase, seed, type FerryDatabase } from '@ferry/common/db';
import { insertInstance } from './fixtures';

// PGlite's first start runs initdb in WebAssembly: allow it time.
jest.setTimeout(120_000);

function client(stateDir: string): pg.Client {
  return new pg.Client({ host: embeddedSocketDir(stateDir), user: 'postgres', database: 'postgres' });
}

describe('embedded database (PGlite over a unix socket)', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'ferry-embedded-'));
  let db: FerryDatabase | undefined;

  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  it('serves a second, independent client and keeps its data across a restart', async () => {
    db = await openDatabase({ stateDir });
    expect(db.embedded).toBe(true);
    expect((await migrate(db.dataSource)).applied).toHaveLength(MIGRATIONS.length);
    await seed(db.dataSource);
    const inst = await insertInstance(db.dataSource, { display_name: 'persisted' });

    const other = client(stateDir);
    await other.connect();
    try {
      const { rows } = await other.query('SELECT display_name, vm_state FROM instances WHERE uuid = $1', [inst.uuid]);
      expect(rows).toEqual([{ display_name: 'persisted', vm_state: 'active' }]);
      const flavors = await other.query('SELECT count(*)::int AS n FROM flavors');
      expect(flavors.rows[0].n).toBe(5);
    } finally {
      await other.end();
    }

    await db.close();
    db = await openDatabase({ stateDir });
    expect((await migrate(db.dataSource)).applied).toEqual([]);
    const again = await db.dataSource.getRepository(Instance).findOneByOrFail({ uuid: inst.uuid });
    expect(again.display_name).toBe('persisted');
  });

  it('keeps concurrent clients\' extended-protocol queries and transactions apart', async () => {
    db = await openDatabase({ stateDir });
    await migrate(db.dataSource);
    const ds = db.dataSource;
    const others = [client(stateDir), client(stateDir), client(stateDir)];
    await Promise.all(others.map((c) => c.connect()));
    let wrong = 0;
    try {
      const viaTypeorm = async () => {
        for (let i = 0; i < 100; i++) {
          const [r] = await ds.query('SELECT $1::int + 1000 AS w, $2::text AS z, $3::text AS y', [i, 'typeorm', 'x']);
          if (r.w !== i + 1000) wrong++;
        }
      };
      const viaClient = async (c: pg.Client, k: number) => {
        for (let i = 0; i < 100; i++) {
          if (i % 10 === 0) {
            await c.query('BEGIN');
            await c.query('CREATE TEMP TABLE IF NOT EXISTS scratch (k int, i int)');
            await c.query('INSERT INTO scratch VALUES ($1, $2)', [k, i]);
            const r = await c.query('SELECT count(*)::int AS n FROM scratch WHERE k = $1 AND i = $2', [k, i]);
            if (r.rows[0].n !== 1) wrong++;
            await c.query('ROLLBACK');
          } else {
            const r = await c.query('SELECT $1::text AS v, $2::int AS n', [`c${k}:${i}`, i]);
            if (r.rows[0].v !== `c${k}:${i}`) wrong++;
          }
        }
      };
      await Promise.all([viaTypeorm(), ...others.map((c, k) => viaClient(c, k))]);
    } finally {
      await Promise.all(others.map((c) => c.end()));
    }
    expect(wrong).toBe(0);
  });

  it('rolls back what a disconnected client left open and serves the others', async () => {
    db = await openDatabase({ stateDir });
    await migrate(db.dataSource);
    const inst = await insertInstance(db.dataSource, { display_name: 'before' });
    const other = client(stateDir);
    other.on('error', () => undefined); // its connection is cut below on purpose
    await other.connect();
    await other.query('BEGIN');
    await other.query('UPDATE instances SET display_name = $1 WHERE uuid = $2', ['uncommitted', inst.uuid]);
    const waiting = db.dataSource.getRepository(Instance).findOneByOrFail({ uuid: inst.uuid });
    // The open transaction owns PGlite's single session; the owner's query waits for it to end.
    await new Promise((r) => setTimeout(r, 100));
    (other as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    expect((await waiting).display_name).toBe('before');
    await other.end().catch(() => undefined);
  });

  it('lets another opener of the same state dir attach to the running server', async () => {
    db = await openDatabase({ stateDir });
    await migrate(db.dataSource);
    const inst = await insertInstance(db.dataSource, { display_name: 'shared' });
    const attached = await openDatabase({ stateDir });
    try {
      expect(attached.embedded).toBe(true);
      expect((await attached.dataSource.getRepository(Instance).findOneByOrFail({ uuid: inst.uuid })).display_name).toBe('shared');
    } finally {
      await attached.close();
    }
    expect((await db.dataSource.query('SELECT 1 AS one'))[0].one).toBe(1);
  });

  it('serializes concurrent migrate runs from two openers of a fresh state dir', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'ferry-embedded-fresh-'));
    db = await openDatabase({ stateDir: fresh });
    const attached = await openDatabase({ stateDir: fresh });
    try {
      const [a, b] = await Promise.all([migrate(db.dataSource), migrate(attached.dataSource)]);
      expect([...a.applied, ...b.applied]).toHaveLength(MIGRATIONS.length);
    } finally {
      await attached.close();
    }
  });

  it(`refuses connections beyond ${EMBEDDED_MAX_CONNECTIONS} with Postgres's too-many-clients error`, async () => {
    db = await openDatabase({ stateDir });
    const extra = Array.from({ length: EMBEDDED_MAX_CONNECTIONS - 1 }, () => client(stateDir));
    await Promise.all(extra.map((c) => c.connect()));
    const oneTooMany = client(stateDir);
    try {
      await expect(oneTooMany.connect()).rejects.toMatchObject({ code: '53300' });
    } finally {
      await Promise.all(extra.map((c) => c.end()));
    }
    const again = client(stateDir);
    await again.connect();
    await again.end();
  });

  it('starts cleanly over a stale lock and socket file left by a crashed run', async () => {
    // No process has this pid (it is above any pid_max), as after a crash and reboot.
    writeFileSync(join(stateDir, 'db', 'server.pid'), '2147483646\n');
    writeFileSync(join(embeddedSocketDir(stateDir), SOCKET_FILE_NAME), '');
    db = await openDatabase({ stateDir });
    expect((await db.dataSource.query('SELECT count(*)::int AS n FROM instances'))[0].n).toBeGreaterThan(0);
  });
});
