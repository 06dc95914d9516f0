// A Ferry API with only the resources under test, on a real Postgres database of its own: the framework's
// error handling, microversions and token auth, with a token validator standing in for the identity service.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '@ferry/api';
import type { DataSource } from 'typeorm';
import { loadConfig } from '@ferry/common/config';
import {
  Instance, Migration, migrate, openDatabase, recordHeartbeat, seed, upsertComputeNode, type FerryDatabase,
} from '@ferry/common/db';
import { silentLogger } from '@ferry/common/log';
import type { Transport } from '@ferry/common/rpc';
import type { ApiDeps } from '../../../../services/api/src/api-deps';
import type { TokenInfo, TokenValidator } from '../../../../services/api/src/http/auth';
import { COMPUTE_PREFIX } from '../../../../services/api/src/http/versioning';
import { createTestDatabase, type TestDatabase } from '../../../support/db';

export const PUBLIC_URL = 'http://ferry.test:8774';
export const ADMIN_TOKEN = 'admin-token';
export const MEMBER_TOKEN = 'member-token';
export const ADMIN_PROJECT = 'admin-project';
export const MEMBER_PROJECT = 'demo-project';

const TOKENS: Record<string, Omit<TokenInfo, 'expires_at'>> = {
  [ADMIN_TOKEN]: { user_id: 'admin-user', user_name: 'admin', project_id: ADMIN_PROJECT, project_name: 'admin', roles: ['admin', 'member'] },
  [MEMBER_TOKEN]: { user_id: 'demo-user', user_name: 'demo', project_id: MEMBER_PROJECT, project_name: 'demo', roles: ['member'] },
};

/** Two fixed tokens: an admin and a project member (the identity service's part, doubled for these tests). */
class FixedTokens implements TokenValidator {
  async validate(token: string): Promise<TokenInfo | undefined> {
    const info = TOKENS[token];
    return info && { ...info, expires_at: new Date(Date.now() + 3600_000) };
  }
}

export interface ApiHarness {
  app: FastifyInstance;
  /** http://127.0.0.1:<port> the app listens on. */
  url: string;
  db: FerryDatabase;
  ds: DataSource;
  close(): Promise<void>;
}

/** Migrated and seeded database and the service's own app (buildApp), with fixed tokens instead of Keystone's. */
export async function startApi(): Promise<ApiHarness> {
  const tdb: TestDatabase = await createTestDatabase();
  const db = await openDatabase({ url: tdb.url, stateDir: mkdtempSync(join(tmpdir(), 'ferry-api-resources-')), poolSize: 4 });
  await migrate(db.dataSource);
  await seed(db.dataSource);
  const deps: ApiDeps = {
    config: loadConfig({}), db, transport: {} as Transport, log: silentLogger(), publicUrl: () => PUBLIC_URL,
  };
  const app = buildApp(deps, { tokens: new FixedTokens() });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    app, url, db, ds: db.dataSource,
    async close() {
      await app.close();
      await db.close();
      await tdb.drop();
    },
  };
}

export interface Call {
  token?: string | null;
  /** Compute microversion, e.g. '2.53' (sent as OpenStack-API-Version). */
  version?: string;
  body?: unknown;
}

// Response bodies are whatever JSON the API sent; tests index into them freely.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface Reply<T = Json> {
  status: number;
  body: T;
  headers: Record<string, unknown>;
}

/** One request over HTTP (fastify's inject needs an ES-module-only dependency jest cannot load). */
export async function call<T = Json>(h: ApiHarness, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, opts: Call = {}): Promise<Reply<T>> {
  const headers: Record<string, string> = {};
  const token = opts.token === undefined ? ADMIN_TOKEN : opts.token;
  if (token) headers['x-auth-token'] = token;
  if (opts.version) headers['openstack-api-version'] = `compute ${opts.version}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${h.url}${path}`, { method, headers, ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}) });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: Object.fromEntries(res.headers.entries()) };
}

export const compute = (path: string) => `${COMPUTE_PREFIX}${path}`;

// --- rows the tests set up directly -------------------------------------------------------------

export interface HostOptions {
  /** Seconds since the last heartbeat (default 0: up). null: never beat. */
  heartbeatAgeS?: number | null;
  disabled?: boolean;
  disabledReason?: string | null;
  forcedDown?: boolean;
  vcpus?: number;
  memoryMb?: number;
  localGb?: number;
  /** Skip the compute node (a service without a node). */
  noNode?: boolean;
}

/** A compute host: its compute node and its ferry-compute service row. */
export async function addComputeHost(ds: DataSource, host: string, opts: HostOptions = {}) {
  if (!opts.noNode) {
    await upsertComputeNode(ds, {
      host, hypervisor_hostname: `${host}.ferry.test`, hypervisor_type: 'fake', vcpus: opts.vcpus ?? 16, memory_mb: opts.memoryMb ?? 65536,
      local_gb: opts.localGb ?? 1000, cpu_model: 'Haswell', capabilities: {}, storage_id: `local-${host}`, host_ip: '10.0.0.1',
    });
  }
  await addService(ds, host, 'ferry-compute', opts);
}

export async function addService(ds: DataSource, host: string, binary: string, opts: HostOptions = {}) {
  await recordHeartbeat(ds, { host, binary, topic: binary.replace(/^ferry-/, ''), version: '0.1.0' });
  const age = opts.heartbeatAgeS === undefined ? 0 : opts.heartbeatAgeS;
  await ds.query(
    `UPDATE services SET last_seen_up = CASE WHEN $3::float8 IS NULL THEN NULL ELSE now() - make_interval(secs => $3::float8) END,
       disabled = $4, disabled_reason = $5, forced_down = $6 WHERE host = $1 AND "binary" = $2`,
    [host, binary, age, opts.disabled ?? false, opts.disabledReason ?? null, opts.forcedDown ?? false],
  );
}

export async function insertInstance(ds: DataSource, fields: Partial<Instance> = {}): Promise<Instance> {
  const repo = ds.getRepository(Instance);
  return repo.save(repo.create({
    uuid: randomUUID(), display_name: 'vm', project_id: MEMBER_PROJECT, user_id: 'demo-user', host: 'compute-1', node: 'compute-1',
    flavor: { id: 1, flavorid: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 512, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} },
    image_ref: 'cirros', vm_state: 'active', task_state: null, power_state: 1, ...fields,
  }));
}

export async function insertAllocation(ds: DataSource, consumer: string, host: string, vcpus: number, memoryMb: number, diskGb: number) {
  await ds.query('INSERT INTO allocations (consumer_uuid, host, vcpus, memory_mb, disk_gb) VALUES ($1, $2, $3, $4, $5)', [consumer, host, vcpus, memoryMb, diskGb]);
}

/** A migration row in any state, with created_at/updated_at set explicitly when given. */
export async function insertMigration(
  ds: DataSource, fields: Partial<Migration> & { instance_uuid: string },
): Promise<Migration> {
  const repo = ds.getRepository(Migration);
  const saved = await repo.save(repo.create({
    uuid: randomUUID(), migration_type: 'resize', status: 'finished', source_compute: 'compute-1', dest_compute: 'compute-2',
    source_node: 'compute-1', dest_node: 'compute-2', dest_host: '10.0.0.2', old_instance_type_id: 1, new_instance_type_id: 2,
    user_id: 'demo-user', project_id: MEMBER_PROJECT, ...fields,
  }));
  if (fields.created_at || fields.updated_at) {
    await ds.query('UPDATE migrations SET created_at = COALESCE($2, created_at), updated_at = COALESCE($3, updated_at) WHERE id = $1',
      [saved.id, fields.created_at ?? null, fields.updated_at ?? null]);
  }
  return repo.findOneOrFail({ where: { id: saved.id }, withDeleted: true });
}
