// The API exactly as the service builds it (buildApp), on a fresh test database and an in-process bus.
import type { FastifyInstance } from 'fastify';
import { buildApp } from '@ferry/api';
import { loadConfig, type FerryConfig } from '@ferry/common/config';
import { migrate, openDatabase, seed, type FerryDatabase } from '@ferry/common/db';
import { silentLogger } from '@ferry/common/log';
import { createTransport, type Transport } from '@ferry/common/rpc';
import { createTestDatabase } from './db';
import { tempStateDir } from './ferry-process';
import { fetchToken } from './tokens';

export const ASSEMBLED_PASSWORDS = { admin: 'assembled-admin-secret', demo: 'assembled-demo-secret' } as const;

export interface AssembledApi {
  app: FastifyInstance;
  url: string;
  db: FerryDatabase;
  transport: Transport;
  /** A project-scoped token of a seeded user. */
  login(user: 'admin' | 'demo'): Promise<string>;
  close(): Promise<void>;
}

export async function startAssembledApi(overrides: Partial<FerryConfig> = {}, beforeListen?: (app: FastifyInstance) => void): Promise<AssembledApi> {
  const state = tempStateDir();
  const testDb = await createTestDatabase();
  const db = await openDatabase({ url: testDb.url, stateDir: state.dir, log: silentLogger() });
  await migrate(db.dataSource);
  await seed(db.dataSource, { adminPassword: ASSEMBLED_PASSWORDS.admin, demoPassword: ASSEMBLED_PASSWORDS.demo });
  const transport = await createTransport({ url: `inproc://assembled-${testDb.name}` });
  let url = '';
  const app = buildApp({ config: loadConfig({}, overrides), db, transport, log: silentLogger(), publicUrl: () => url });
  beforeListen?.(app);
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    app, url, db, transport,
    login: (user) => fetchToken(url, user, ASSEMBLED_PASSWORDS[user]),
    async close() {
      await app.close();
      await transport.close();
      await db.close();
      await testDb.drop();
      state.remove();
    },
  };
}
