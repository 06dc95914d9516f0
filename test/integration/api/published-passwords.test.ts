// The API will not listen beyond this machine while a seeded user still has its documented password;
// `ferry user password` sets a new one from standard input.
import { migrate, openDatabase, seed, usersWithBuiltInPasswords, verifyPassword, type FerryDatabase } from '@ferry/common/db';
import { silentLogger } from '@ferry/common/log';
import { isLoopback } from '@ferry/api';
import { randomPrefix, testTransportUrl } from '../../support/amqp';
import { createTestDatabase, type TestDatabase } from '../../support/db';
import { runFerry, startFerry, tempStateDir } from '../../support/ferry-process';

describe('published passwords', () => {
  const state = tempStateDir();
  let testDb: TestDatabase;
  let db: FerryDatabase;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = await openDatabase({ url: testDb.url, stateDir: state.dir, log: silentLogger() });
    await migrate(db.dataSource);
    await seed(db.dataSource);
    env = {
      FERRY_DATABASE_URL: testDb.url, FERRY_TRANSPORT_URL: testTransportUrl(), FERRY_BUS_PREFIX: randomPrefix(),
      FERRY_STATE_DIR: state.dir, FERRY_API_PORT: '0', FERRY_LOG_LEVEL: 'error',
    };
  });

  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
    state.remove();
  });

  it('tells loopback addresses from reachable ones', () => {
    for (const a of ['127.0.0.1', '127.8.9.1', '::1', 'localhost', '::ffff:127.0.0.1']) expect(isLoopback(a)).toBe(true);
    for (const a of ['0.0.0.0', '::', '10.1.2.3', '192.168.0.4', 'ferry.example']) expect(isLoopback(a)).toBe(false);
  });

  it('ferry api refuses 0.0.0.0 with a message saying how to set the passwords, and exits 2', async () => {
    expect(await usersWithBuiltInPasswords(db.dataSource)).toEqual(['admin', 'demo']);
    const res = await runFerry(['api', '--host', 'api-published'], { ...env, FERRY_API_LISTEN: '0.0.0.0' });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('ferry: refusing to listen on 0.0.0.0: user admin and user demo still have their built-in password.');
    expect(res.stderr).toContain('ferry user password admin');
    expect(res.stderr).toContain('FERRY_ADMIN_PASSWORD');
  }, 60_000);

  it('ferry user password reads the new password from standard input, never from the command line', async () => {
    const short = await runFerry(['user', 'password', 'admin'], env, 30_000, 'short\n');
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/at least 8 characters/);
    const unknown = await runFerry(['user', 'password', 'nobody'], env, 30_000, 'long-enough-secret\n');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no user named nobody/);

    const res = await runFerry(['user', 'password', 'admin'], env, 30_000, 'admin-new-secret-1\n');
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('password of user admin changed\n');
    expect(res.stdout + res.stderr).not.toContain('admin-new-secret-1');
    const [row] = await db.dataSource.query(`SELECT password_hash FROM users WHERE name = 'admin'`) as { password_hash: string }[];
    expect(await verifyPassword('admin-new-secret-1', row!.password_hash)).toBe(true);
    expect(await usersWithBuiltInPasswords(db.dataSource)).toEqual(['demo']);
  }, 60_000);

  it('still refuses while one user keeps the built-in password, and listens once none does', async () => {
    const one = await runFerry(['api', '--host', 'api-published'], { ...env, FERRY_API_LISTEN: '0.0.0.0' });
    expect(one.code).toBe(2);
    expect(one.stderr).toContain('user demo still has its built-in password');
    expect((await runFerry(['user', 'password', 'demo'], env, 30_000, 'demo-new-secret-2\n')).code).toBe(0);
    expect(await usersWithBuiltInPasswords(db.dataSource)).toEqual([]);
    // Listening now succeeds: the process stays up until told to stop.
    const started = startFerry(['api', '--host', 'api-published'], { ...env, FERRY_API_LISTEN: '0.0.0.0', FERRY_LOG_LEVEL: 'info' });
    try {
      await started.waitFor(/API listening/, 45_000);
      expect(started.output()).not.toMatch(/refusing/);
    } finally {
      await started.stop('SIGKILL');
    }
  }, 60_000);
});
