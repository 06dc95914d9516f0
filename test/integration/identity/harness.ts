// An identity API on a fresh Postgres database, built with the API's own framework pieces, served on a
// loopback port. (fastify's inject cannot load under jest on Node 20: light-my-request needs the ESM-only
// `cookie` package, which jest's module loader cannot require.)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '@ferry/api';
import type { DataSource } from 'typeorm';
import { loadConfig, type FerryConfig } from '@ferry/common/config';
import { migrate, openDatabase, seed, type FerryDatabase } from '@ferry/common/db';
import { createLogger } from '@ferry/common/log';
import { createTransport, type Transport } from '@ferry/common/rpc';
import { behindToken } from '../../../services/api/src/http/auth';
import { DbTokenValidator } from '../../../services/api/src/identity';
import { createTestDatabase, type TestDatabase } from '../../support/db';

export const BASE_URL = 'http://ferry.test:8774';
export const PASSWORDS = { admin: 'admin-secret-4c7f', demo: 'demo-secret-91ab' } as const;

export interface HttpReply {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json<T = any>(): T;
}

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'DELETE';
  url: string;
  /** Sent as JSON unless it is a string. */
  payload?: unknown;
  headers?: Record<string, string>;
}

export interface IdentityHarness {
  app: FastifyInstance;
  /** One HTTP request to the running app. */
  request(req: HttpRequest): Promise<HttpReply>;
  ds: DataSource;
  config: Readonly<FerryConfig>;
  /** Every log line written so far. */
  logs(): string;
  /** POST /identity/v3/auth/tokens as a seeded user; scope defaults to the user's project, null sends none. */
  issue(user: 'admin' | 'demo', scope?: unknown, password?: string, query?: string): Promise<HttpReply>;
  close(): Promise<void>;
}

export function passwordAuth(user: string, password: string, scope?: unknown) {
  return {
    auth: {
      identity: { methods: ['password'], password: { user: { name: user, domain: { name: 'Default' }, password } } },
      ...(scope === undefined || scope === null ? {} : { scope }),
    },
  };
}

export const projectScope = (name: string) => ({ project: { name, domain: { name: 'Default' } } });

export async function startIdentityHarness(overrides: Partial<FerryConfig> = {}): Promise<IdentityHarness> {
  let tdb: TestDatabase | undefined;
  let db: FerryDatabase | undefined;
  let transport: Transport | undefined;
  try {
    tdb = await createTestDatabase();
    db = await openDatabase({ url: tdb.url, stateDir: mkdtempSync(join(tmpdir(), 'ferry-identity-')), poolSize: 4 });
    await migrate(db.dataSource);
    await seed(db.dataSource, { adminPassword: PASSWORDS.admin, demoPassword: PASSWORDS.demo });
    transport = await createTransport({ url: `inproc://identity-${tdb.name}` });
  } catch (err) {
    await db?.close();
    await tdb?.drop();
    throw err;
  }
  let logged = '';
  const log = createLogger({ level: 'debug', pretty: false, destination: new Writable({ write(chunk, _enc, done) { logged += String(chunk); done(); } }) });
  const config = loadConfig({}, overrides);
  const deps = { config, db, transport, log, publicUrl: () => BASE_URL };

  // The service's own app, plus a probe route behind the same token check that answers who the token is.
  const tokens = new DbTokenValidator(db.dataSource);
  const app = buildApp(deps, { tokens });
  await app.register(behindToken(tokens, async (compute) => {
    compute.get('/whoami', async (req) => req.ctx);
  }), { prefix: '/compute/v2.1' });
  const origin = await app.listen({ host: '127.0.0.1', port: 0 });

  const request = async ({ method, url, payload, headers = {} }: HttpRequest): Promise<HttpReply> => {
    const json = payload !== undefined && typeof payload !== 'string';
    const res = await fetch(`${origin}${url}`, {
      method,
      headers: { ...(payload !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(payload !== undefined ? { body: json ? JSON.stringify(payload) : (payload as string) } : {}),
    });
    const body = await res.text();
    return { statusCode: res.status, headers: Object.fromEntries(res.headers), body, json: () => JSON.parse(body) };
  };
  const ds = db.dataSource;
  return {
    app, ds, config, request,
    logs: () => logged,
    issue(user, scope = projectScope(user), password = PASSWORDS[user], query = '') {
      return request({ method: 'POST', url: `/identity/v3/auth/tokens${query}`, payload: passwordAuth(user, password, scope) });
    },
    async close() {
      await app.close();
      await transport!.close();
      await db!.close();
      await tdb!.drop();
    },
  };
}
