// The identity seed: idempotent, ids stable across runs, and an existing password never reset.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword, migrate, openDatabase, seed, verifyPassword, type FerryDatabase } from '@ferry/common/db';
import { createTestDatabase, type TestDatabase } from '../../support/db';

describe('identity seed', () => {
  let tdb: TestDatabase;
  let db: FerryDatabase;

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = await openDatabase({ url: tdb.url, stateDir: mkdtempSync(join(tmpdir(), 'ferry-seed-')), poolSize: 2 });
    await migrate(db.dataSource);
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });

  const snapshot = () => db.dataSource.query(
    `SELECT u.name AS user_name, u.id AS user_id, u.password_hash, u.default_project_id, p.name AS project_name, p.id AS project_id, ra.role
       FROM users u JOIN role_assignments ra ON ra.user_id = u.id JOIN projects p ON p.id = ra.project_id ORDER BY u.name`,
  ) as Promise<{ user_name: string; user_id: string; password_hash: string; default_project_id: string; project_name: string; project_id: string; role: string }[]>;

  it('creates projects admin and demo, their users and roles once, and never resets a password', async () => {
    const first = await seed(db.dataSource, { adminPassword: 'first-admin', demoPassword: 'first-demo' });
    expect(first).toMatchObject({ projects: 2, users: 2, roleAssignments: 2 });
    const rows = await snapshot();
    expect(rows.map((r) => [r.user_name, r.project_name, r.role])).toEqual([['admin', 'admin', 'admin'], ['demo', 'demo', 'member']]);
    for (const r of rows) {
      expect(r.user_id).toMatch(/^[0-9a-f]{32}$/);
      expect(r.project_id).toMatch(/^[0-9a-f]{32}$/);
      expect(r.default_project_id).toBe(r.project_id);
    }
    expect(await verifyPassword('first-admin', rows[0]!.password_hash)).toBe(true);

    const again = await seed(db.dataSource, { adminPassword: 'second-admin', demoPassword: 'second-demo' });
    expect(again).toEqual({ flavors: 0, images: 0, projects: 0, users: 0, roleAssignments: 0 });
    expect(await snapshot()).toEqual(rows);
    expect(await verifyPassword('second-admin', rows[0]!.password_hash)).toBe(false);
  });

  it('restores a missing role assignment without touching the user', async () => {
    await db.dataSource.query(`DELETE FROM role_assignments WHERE role = 'member'`);
    const before = await db.dataSource.query(`SELECT id, password_hash FROM users WHERE name = 'demo'`);
    expect(await seed(db.dataSource)).toMatchObject({ users: 0, roleAssignments: 1 });
    expect(await db.dataSource.query(`SELECT id, password_hash FROM users WHERE name = 'demo'`)).toEqual(before);
  });

  it('uses the configured defaults when no passwords are given', async () => {
    const tdb2 = await createTestDatabase();
    const db2 = await openDatabase({ url: tdb2.url, stateDir: mkdtempSync(join(tmpdir(), 'ferry-seed-')), poolSize: 1 });
    try {
      await migrate(db2.dataSource);
      await seed(db2.dataSource);
      const [admin] = await db2.dataSource.query(`SELECT password_hash FROM users WHERE name = 'admin'`);
      const [demo] = await db2.dataSource.query(`SELECT password_hash FROM users WHERE name = 'demo'`);
      expect(await verifyPassword('ferry-admin', admin.password_hash)).toBe(true);
      expect(await verifyPassword('ferry-demo', demo.password_hash)).toBe(true);
    } finally {
      await db2.close();
      await tdb2.drop();
    }
  });
});

describe('password hashes', () => {
  it('are salted scrypt, self-describing, and verify only the right password', async () => {
    const a = await hashPassword('s3cret');
    const b = await hashPassword('s3cret');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(await verifyPassword('s3cret', a)).toBe(true);
    expect(await verifyPassword('s3cret', b)).toBe(true);
    expect(await verifyPassword('s3creT', a)).toBe(false);
    expect(await verifyPassword('', a)).toBe(false);
  });

  it('reject malformed or extravagant stored hashes instead of throwing', async () => {
    const good = await hashPassword('x');
    const [, , , , salt, key] = good.split('$');
    for (const stored of ['', 'plain', 'bcrypt$1$2$3$4$5', `scrypt$16384$8$1$${salt}`, `scrypt$abc$8$1$${salt}$${key}`, `scrypt$${1 << 24}$8$1$${salt}$${key}`, `scrypt$16384$8$1$$${key}`]) {
      expect(await verifyPassword('x', stored)).toBe(false);
    }
  });
});
