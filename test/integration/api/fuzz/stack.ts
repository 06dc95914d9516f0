// The assembled API (buildApp) on a fresh Postgres with servers in many states, casts swallowed by sink RPC servers,
// real tokens for an admin and a member, and a digest of every table to tell whether a request changed anything.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { DataSource } from 'typeorm';
import { buildApp } from '@ferry/api';
import { loadConfig } from '@ferry/common/config';
import {
  CIRROS_IMAGE_ID, Instance, Migration, migrate, openDatabase, recordHeartbeat, seed, startAction, upsertComputeNode, type FerryDatabase,
} from '@ferry/common/db';
import { createLogger } from '@ferry/common/log';
import { createTransport, newRequestContext, RpcServer, served, type ServedEndpoint, type Transport } from '@ferry/common/rpc';
import { COMPUTE_CONTRACT, COMPUTE_RPC_VERSION } from '@ferry/compute/client';
import { SCHEDULER_CONTRACT, SCHEDULER_RPC_VERSION } from '@ferry/scheduler';
import { createTestDatabase, type TestDatabase } from '../../../support/db';
import { fetchToken } from '../../../support/tokens';

export const HOSTS = ['compute-1', 'compute-2'] as const;
export const PASSWORDS = { admin: 'fuzz-admin-secret', demo: 'fuzz-demo-secret' } as const;

/**
 * An endpoint that accepts every cast of the topic's real contract (so what the API sends is checked against its
 * schemas) and does nothing: the flows never run, so nothing changes behind a request.
 */
function sink(contract: typeof COMPUTE_CONTRACT | typeof SCHEDULER_CONTRACT, version: string): ServedEndpoint {
  return served<object>({ target: { version }, ...Object.fromEntries(Object.keys(contract).map((m) => [m, async () => undefined])) }, contract);
}

export interface FuzzStack {
  app: FastifyInstance;
  url: string;
  ds: DataSource;
  /** X-Auth-Token values: the seeded admin (project admin) and demo member (project demo). */
  tokens: { admin: string; member: string; spare: string };
  /** The API's error log lines so far (the stack of a 5xx). */
  errors: string[];
  /** A digest of every row of every table. */
  digest(): Promise<string>;
  close(): Promise<void>;
}

export async function issueToken(url: string, user: 'admin' | 'demo'): Promise<string> {
  return fetchToken(url, user, PASSWORDS[user]);
}

/** onBuild sees the app before it is ready (to add hooks such as onRoute). */
export async function startFuzzStack(onBuild: (app: FastifyInstance) => void = () => undefined): Promise<FuzzStack> {
  const tdb: TestDatabase = await createTestDatabase();
  const stateDir = mkdtempSync(join(tmpdir(), 'ferry-fuzz-'));
  const db: FerryDatabase = await openDatabase({ url: tdb.url, stateDir, poolSize: 6 });
  await migrate(db.dataSource);
  await seed(db.dataSource, { adminPassword: PASSWORDS.admin, demoPassword: PASSWORDS.demo });
  const transport: Transport = await createTransport({ url: `inproc://fuzz-${randomBytes(6).toString('hex')}` });
  const rpcServers = [
    new RpcServer(transport, { topic: 'scheduler', server: 'scheduler-1' }, [sink(SCHEDULER_CONTRACT, SCHEDULER_RPC_VERSION)]),
    ...HOSTS.map((host) => new RpcServer(transport, { topic: 'compute', server: host }, [sink(COMPUTE_CONTRACT, COMPUTE_RPC_VERSION)])),
  ];
  for (const s of rpcServers) await s.start();
  let url = '';
  const errors: string[] = [];
  const log = createLogger({
    level: 'error', pretty: false,
    destination: new Writable({ write(chunk, _enc, done) { errors.push(String(chunk)); done(); } }),
  });
  const app = buildApp({ config: loadConfig({}), db, transport, log, publicUrl: () => url });
  onBuild(app);
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  const ds = db.dataSource;
  await addFixtures(ds);
  const tokens = { admin: await issueToken(url, 'admin'), member: await issueToken(url, 'demo'), spare: await issueToken(url, 'demo') };

  const tables: { table_name: string }[] = await ds.query(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`,
  );
  const digestSql = `SELECT md5(string_agg(d, '|' ORDER BY d)) AS digest FROM (${
    tables.map(({ table_name: t }) => `SELECT '${t}:' || md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) AS d FROM "${t}" x`).join(' UNION ALL ')
  }) s`;
  return {
    app, url, ds, tokens, errors,
    async digest() {
      const [row] = await ds.query(digestSql);
      return row.digest as string;
    },
    async close() {
      await app.close();
      for (const s of rpcServers) await s.stop();
      await transport.close();
      await db.close();
      await tdb.drop();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** Hosts, and servers of both projects in the states the actions care about, with their migrations and allocations. */
async function addFixtures(ds: DataSource): Promise<void> {
  for (const host of HOSTS) {
    await upsertComputeNode(ds, {
      host, hypervisor_hostname: `${host}.local`, hypervisor_type: 'fake', vcpus: 16, memory_mb: 65536, local_gb: 1000,
      cpu_model: 'fake', capabilities: {}, storage_id: `local-${host}`, host_ip: '10.0.0.1',
    });
    await recordHeartbeat(ds, { host, binary: 'ferry-compute', topic: 'compute', version: '0.1.0' });
  }
  await recordHeartbeat(ds, { host: 'scheduler-1', binary: 'ferry-scheduler', topic: 'scheduler', version: '0.1.0' });
  const projects: { id: string; name: string }[] = await ds.query(`SELECT id, name FROM projects`);
  const users: { id: string; name: string }[] = await ds.query(`SELECT id, name FROM users`);
  const owner = (name: 'admin' | 'demo') => ({
    project_id: projects.find((p) => p.name === name)!.id, user_id: users.find((u) => u.name === name)!.id,
  });
  const tiny = { id: 1, flavorid: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 512, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} };
  const small = { id: 2, flavorid: '2', name: 'm1.small', vcpus: 1, memory_mb: 2048, root_gb: 20, ephemeral_gb: 0, swap: 0, extra_specs: {} };
  const repo = ds.getRepository(Instance);
  const server = async (fields: Partial<Instance>, who: 'admin' | 'demo' = 'demo') => {
    const saved = await repo.save(repo.create({
      uuid: randomUUID(), display_name: `vm-${fields.vm_state ?? 'active'}`, ...owner(who), host: 'compute-1', node: 'compute-1.local',
      flavor: tiny, image_ref: CIRROS_IMAGE_ID, vm_state: 'active', task_state: null, power_state: 1, launched_at: new Date(),
      metadata: { k: 'v' }, system_metadata: {}, ...fields,
    }));
    if (saved.host) {
      await ds.query('INSERT INTO allocations (consumer_uuid, host, vcpus, memory_mb, disk_gb) VALUES ($1, $2, 1, 512, 1)', [saved.uuid, saved.host]);
    }
    await startAction(ds, newRequestContext({ ...owner(who) }), saved.uuid, 'create');
    return saved;
  };
  const migration = (fields: Partial<Migration> & { instance_uuid: string }) => ds.getRepository(Migration).save(ds.getRepository(Migration).create({
    uuid: randomUUID(), migration_type: 'resize', status: 'finished', source_compute: 'compute-1', dest_compute: 'compute-2',
    source_node: 'compute-1.local', dest_node: 'compute-2.local', old_instance_type_id: 1, new_instance_type_id: 2, ...owner('demo'), ...fields,
  }));

  await server({});
  await server({ display_name: 'vm.*[(' });
  await server({ vm_state: 'stopped', power_state: 4 });
  await server({ locked: true, locked_by: 'owner', locked_reason: 'fuzz' });
  await server({ vm_state: 'error' });
  await server({ vm_state: 'building', task_state: 'scheduling', host: null, node: null, launched_at: null, power_state: 0 });
  await server({}, 'admin');
  const resized = await server({ vm_state: 'resized', host: 'compute-2', node: 'compute-2.local', flavor: small, old_flavor: tiny, new_flavor: small });
  await migration({ instance_uuid: resized.uuid });
  const moving = await server({ task_state: 'migrating' });
  await migration({ instance_uuid: moving.uuid, migration_type: 'live-migration', status: 'running', new_instance_type_id: 1 });
  const gone = await server({});
  await repo.softDelete({ uuid: gone.uuid });
}
