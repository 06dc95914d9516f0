// A revoked token, a removed role or a disabled user stops working on every API process within a second,
// although each process caches token validations.
import type { FastifyInstance } from 'fastify';
import { buildApp } from '@ferry/api';
import { loadConfig } from '@ferry/common/config';
import { migrate, openDatabase, seed, type FerryDatabase } from '@ferry/common/db';
import { silentLogger } from '@ferry/common/log';
import { createTransport, type Transport } from '@ferry/common/rpc';
import { createTestDatabase, type TestDatabase } from '../../support/db';
import { tempStateDir } from '../../support/ferry-process';
import { passwordAuth, PASSWORDS, projectScope } from './harness';

/** One API process: its own database connections (so its own token cache) on the shared database. */
interface ApiProcess {
  url: string;
  db: FerryDatabase;
  app: FastifyInstance;
}

describe('identity: revocation reaches every API process within a second', () => {
  const state = tempStateDir();
  let testDb: TestDatabase;
  let transport: Transport;
  const apis: ApiProcess[] = [];

  beforeAll(async () => {
    testDb = await createTestDatabase();
    transport = await createTransport({ url: `inproc://revocation-${process.pid}` });
    for (let i = 0; i < 2; i++) {
      const db = await openDatabase({ url: testDb.url, stateDir: state.dir, log: silentLogger(), poolSize: 2 });
      if (i === 0) {
        await migrate(db.dataSource);
        await seed(db.dataSource, { adminPassword: PASSWORDS.admin, demoPassword: PASSWORDS.demo });
      }
      const api: ApiProcess = { url: '', db, app: undefined as unknown as FastifyInstance };
      api.app = buildApp({ config: loadConfig({}), db, transport, log: silentLogger(), publicUrl: () => api.url });
      api.url = await api.app.listen({ host: '127.0.0.1', port: 0 });
      apis.push(api);
    }
  });

  afterAll(async () => {
    for (const api of apis) {
      await api.app.close();
      await api.db.close();
    }
    await transport?.close();
    await testDb?.drop();
    state.remove();
  });

  const login = async (user: 'admin' | 'demo') => {
    const res = await fetch(`${apis[0]!.url}/identity/v3/auth/tokens`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify(passwordAuth(user, PASSWORDS[user], projectScope(user))),
    });
    expect(res.status).toBe(201);
    return res.headers.get('x-subject-token')!;
  };
  const status = async (api: ApiProcess, token: string) =>
    (await fetch(`${api.url}/compute/v2.1/flavors`, { headers: { 'x-auth-token': token } })).status;

  /** Every process accepts the token now (and so has it cached). */
  const warm = async (token: string) => {
    for (const api of apis) expect(await status(api, token)).toBe(200);
  };

  /** Milliseconds until every process refuses the token; fails the test past one second. */
  const untilRefusedEverywhere = async (token: string, since: number) => {
    for (;;) {
      const codes = await Promise.all(apis.map((api) => status(api, token)));
      const elapsed = Date.now() - since;
      if (codes.every((c) => c === 401)) return elapsed;
      if (elapsed > 1_000) throw new Error(`still accepted after ${elapsed} ms: ${codes.join(', ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('a token revoked through one process is refused by the other', async () => {
    const admin = await login('admin');
    const demo = await login('demo');
    await warm(demo);
    const since = Date.now();
    const res = await fetch(`${apis[0]!.url}/identity/v3/auth/tokens`, { method: 'DELETE', headers: { 'x-auth-token': admin, 'x-subject-token': demo } });
    expect(res.status).toBe(204);
    expect(await untilRefusedEverywhere(demo, since)).toBeLessThanOrEqual(1_000);
    expect(await status(apis[1]!, admin)).toBe(200);
  });

  it('a role removed in the database ends the tokens that relied on it', async () => {
    const demo = await login('demo');
    await warm(demo);
    const since = Date.now();
    await apis[1]!.db.dataSource.query(`DELETE FROM role_assignments WHERE user_id = (SELECT id FROM users WHERE name = 'demo')`);
    expect(await untilRefusedEverywhere(demo, since)).toBeLessThanOrEqual(1_000);
  });

  it('a user disabled in the database is refused everywhere', async () => {
    const admin = await login('admin');
    await warm(admin);
    const since = Date.now();
    await apis[0]!.db.dataSource.query(`UPDATE users SET enabled = false WHERE name = 'admin'`);
    expect(await untilRefusedEverywhere(admin, since)).toBeLessThanOrEqual(1_000);
  });
});
