// A Compute API with the servers, instance-actions, limits and os-migrations plugins on a real Postgres and an in-process bus,
// with RPC servers standing in for the scheduler and two computes that record every cast they receive.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '@ferry/api';
import type { DataSource } from 'typeorm';
import { loadConfig } from '@ferry/common/config';
import {
  CIRROS_IMAGE_ID, Instance, InstanceAction, migrate, Migration, openDatabase, recordHeartbeat, seed, upsertComputeNode, type FerryDatabase,
} from '@ferry/common/db';
import { silentLogger } from '@ferry/common/log';
import { createTransport, RpcServer, served, type RequestContext, type ServedEndpoint, type Transport } from '@ferry/common/rpc';
import { COMPUTE_CONTRACT, COMPUTE_RPC_VERSION } from '@ferry/compute/client';
import { SCHEDULER_CONTRACT, SCHEDULER_RPC_VERSION } from '@ferry/scheduler';
import type { ApiDeps } from '../../../../services/api/src/api-deps';
import type { TokenInfo, TokenValidator } from '../../../../services/api/src/http/auth';
import { COMPUTE_PREFIX } from '../../../../services/api/src/http/versioning';
import { createTestDatabase, type TestDatabase } from '../../../support/db';

export const PUBLIC_URL = 'http://ferry.test:8774';
export const HOSTS = ['compute-1', 'compute-2'] as const;

/** Who the test tokens stand for: an admin, two members of one project, and a member of another. */
export const USERS = {
  admin: { user_id: 'u-admin', user_name: 'admin', project_id: 'p-admin', project_name: 'admin', roles: ['admin', 'member'] },
  alice: { user_id: 'u-alice', user_name: 'alice', project_id: 'p-one', project_name: 'one', roles: ['member'] },
  carol: { user_id: 'u-carol', user_name: 'carol', project_id: 'p-one', project_name: 'one', roles: ['member'] },
  bob: { user_id: 'u-bob', user_name: 'bob', project_id: 'p-two', project_name: 'two', roles: ['member'] },
} as const;
export type Who = keyof typeof USERS;

/** Test double of the identity service: the token is the user's key in USERS. */
class FixedTokens implements TokenValidator {
  async validate(token: string): Promise<TokenInfo | undefined> {
    const user = USERS[token as Who];
    return user ? { ...user, roles: [...user.roles], expires_at: new Date(Date.now() + 3600_000) } : undefined;
  }
}

export interface Cast {
  topic: string;
  server: string;
  method: string;
  ctx: RequestContext;
  args: Record<string, unknown>;
}

export interface Reply {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Record<string, unknown>;
}

export interface RequestOptions {
  body?: unknown;
  version?: string;
}

/** Records every method of the topic's real contract, so what the API sends must pass the schemas the services check. */
function recorder(topic: string, server: string, casts: Cast[]): ServedEndpoint {
  const record = (method: string) => async (ctx: RequestContext, args: Record<string, unknown>) => {
    casts.push({ topic, server, method, ctx, args });
  };
  const contract = topic === 'scheduler' ? SCHEDULER_CONTRACT : COMPUTE_CONTRACT;
  const version = topic === 'scheduler' ? SCHEDULER_RPC_VERSION : COMPUTE_RPC_VERSION;
  return served<object>({ target: { version }, ...Object.fromEntries(Object.keys(contract).map((m) => [m, record(m)])) }, contract);
}

export class ApiHarness {
  readonly casts: Cast[] = [];
  private servers: RpcServer[] = [];

  private constructor(
    readonly app: FastifyInstance,
    readonly db: FerryDatabase,
    readonly transport: Transport,
    private readonly tdb: TestDatabase,
  ) {}

  get ds(): DataSource {
    return this.db.dataSource;
  }

  static async start(): Promise<ApiHarness> {
    const tdb = await createTestDatabase();
    const db = await openDatabase({ url: tdb.url, stateDir: mkdtempSync(join(tmpdir(), 'ferry-api-')), poolSize: 8 });
    await migrate(db.dataSource);
    await seed(db.dataSource);
    const transport = await createTransport({ url: `inproc://api-servers-${randomBytes(6).toString('hex')}` });
    const deps: ApiDeps = { config: loadConfig({}), db, transport, log: silentLogger(), publicUrl: () => PUBLIC_URL };
    // The service's own app, with fixed tokens instead of Keystone's.
    const app = buildApp(deps, { tokens: new FixedTokens() });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const h = new ApiHarness(app, db, transport, tdb);
    await h.listen();
    for (const host of HOSTS) await h.registerHost(host);
    return h;
  }

  private async listen(): Promise<void> {
    const targets: [string, string][] = [['scheduler', 'scheduler-1'], ...HOSTS.map((h): [string, string] => ['compute', h])];
    for (const [topic, server] of targets) {
      const rpc = new RpcServer(this.transport, { topic, server }, [recorder(topic, server, this.casts)]);
      await rpc.start();
      this.servers.push(rpc);
    }
  }

  /** A compute node and an up compute service for host. */
  async registerHost(host: string): Promise<void> {
    await upsertComputeNode(this.ds, {
      host, hypervisor_hostname: `${host}.local`, hypervisor_type: 'fake', vcpus: 16, memory_mb: 65536, local_gb: 1000,
      cpu_model: 'fake', capabilities: {}, storage_id: `local-${host}`,
    });
    await recordHeartbeat(this.ds, { host, binary: 'ferry-compute', topic: 'compute', version: '0.1.0' });
  }

  async setServiceDown(host: string, down: boolean): Promise<void> {
    await this.ds.query(`UPDATE services SET last_seen_up = now() - interval '1 hour' * $2::int WHERE host = $1 AND "binary" = 'ferry-compute'`, [host, down ? 1 : 0]);
  }

  get url(): string {
    const address = this.app.server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  /** An HTTP request to the compute API (over a real socket); the body is sent as JSON unless it is a string. */
  async request(who: Who | null, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, opts: RequestOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = {};
    if (who) headers['x-auth-token'] = who;
    if (opts.version) headers['openstack-api-version'] = `compute ${opts.version}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${this.url}${COMPUTE_PREFIX}${path}`, {
      method, headers, ...(opts.body !== undefined ? { body: typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: Object.fromEntries(res.headers.entries()) };
  }

  /** Inserts an instance in the given state directly (a server some flow already built). */
  async insertInstance(fields: Partial<Instance> & { owner?: Who } = {}): Promise<Instance> {
    const { owner = 'alice', ...rest } = fields;
    const repo = this.ds.getRepository(Instance);
    return repo.save(repo.create({
      uuid: randomUUID(), display_name: 'vm', project_id: USERS[owner].project_id, user_id: USERS[owner].user_id, host: 'compute-1', node: 'compute-1.local',
      flavor: { id: 1, flavorid: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 512, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} },
      image_ref: CIRROS_IMAGE_ID, vm_state: 'active', task_state: null, power_state: 1, launched_at: new Date(), metadata: {}, system_metadata: {},
      ...rest,
    }));
  }

  /** Inserts a migration record as some flow left it (any status, unlike createMigration). */
  async insertMigration(fields: Partial<Migration> & { instance_uuid: string }): Promise<Migration> {
    const repo = this.ds.getRepository(Migration);
    return repo.save(repo.create({
      uuid: randomUUID(), migration_type: 'resize', status: 'finished', source_compute: 'compute-1', dest_compute: 'compute-2',
      source_node: 'compute-1.local', dest_node: 'compute-2.local', old_instance_type_id: 1, new_instance_type_id: 2, ...fields,
    }));
  }

  async migration(id: number): Promise<Migration | null> {
    return this.ds.getRepository(Migration).findOne({ where: { id }, withDeleted: true });
  }

  async instance(uuid: string): Promise<Instance | null> {
    return this.ds.getRepository(Instance).findOne({ where: { uuid }, withDeleted: true });
  }

  /** The server's instance actions, oldest first. */
  async actionsOf(uuid: string): Promise<InstanceAction[]> {
    return this.ds.getRepository(InstanceAction).find({ where: { instance_uuid: uuid }, order: { id: 'ASC' } });
  }

  /** Runs fn with every cast the API sends going into a closed transport: the bus refuses them (the API answers 503). */
  async withBrokenBus<T>(fn: () => Promise<T>): Promise<T> {
    const broken = await createTransport({ url: `inproc://api-broken-${randomBytes(6).toString('hex')}` });
    await broken.close();
    const original = this.transport.cast.bind(this.transport);
    this.transport.cast = (...args) => broken.cast(...args);
    try {
      return await fn();
    } finally {
      this.transport.cast = original;
    }
  }

  /** The casts of method received so far, waiting (briefly) until there are at least n. */
  async castsOf(method: string, n = 1, timeoutMs = 3000): Promise<Cast[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.casts.filter((c) => c.method === method);
      if (found.length >= n || Date.now() > deadline) return found;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async close(): Promise<void> {
    for (const s of this.servers) await s.stop();
    await this.app.close();
    await this.transport.close();
    await this.db.close();
    await this.tdb.drop();
  }
}

/** Asserts Nova's error body: {"<kind>": {"code": status, "message": …}}. */
export function expectFault(res: Reply, status: number, kind: string, message: string | RegExp): void {
  expect({ status: res.status, body: res.body }).toEqual({
    status, body: { [kind]: { code: status, message: typeof message === 'string' ? message : expect.stringMatching(message) } },
  });
}

/** A valid create body at a microversion, with overrides merged into `server`. */
export function serverBody(overrides: Record<string, unknown> = {}, version = '2.1'): { server: Record<string, unknown> } {
  const [, minor] = version.split('.').map(Number);
  return { server: { name: 'vm', imageRef: CIRROS_IMAGE_ID, flavorRef: '1', ...((minor ?? 1) >= 37 ? { networks: 'none' } : {}), ...overrides } };
}
