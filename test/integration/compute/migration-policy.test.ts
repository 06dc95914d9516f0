// Migration policies over RabbitMQ and Postgres: a live migration runs under the knobs its server's metadata, image
// properties and flavor extra specs set (most specific first, the cluster's settings otherwise), records them with
// where each came from, and GET /os-ferry-migrations/{id} shows them; the downtime ramp, the completion timeout,
// post-copy and the bandwidth follow the policy; entries that cannot apply are skipped with a warning naming the key.
// A cold move's disk copies keep to a bandwidth the policy sets.
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { Image, Migration, type Instance, type InstanceFlavor } from '@ferry/common/db';
import { BANDWIDTH_METADATA_KEY, DIRTY_RATE_METADATA_KEY, MIGRATION_POLICY_PREFIX as P, POWER_STATES } from '@ferry/common/domain';
import { createLogger } from '@ferry/common/log';
import { newRequestContext } from '@ferry/common/rpc';
import { insertBuildingInstance, instanceFlavor, requestSpecFor } from '../scheduler/fixtures';
import { injectToken } from '../../support/tokens';
import { apiOn } from './api-on-cluster';
import { Cluster } from './cluster';

jest.setTimeout(90_000);

const MIB = 1024 * 1024;
// The cluster's own policy: 100 ms at most, no completion timeout, no post-copy, no auto-converge, 1 GiB/s.
const SETTINGS = {
  fakeLiveTimeScale: 0.01, liveMigrationMonitorMs: 20, liveMigrationDowntimeDelay: 3, liveMigrationDowntimeMs: 100, powerSyncSeconds: 1,
  liveMigrationCompletionTimeout: 0,
};
/** Twice as fast as the fake link moves RAM: the guest never converges on its own. */
const NEVER_CONVERGES = { [DIRTY_RATE_METADATA_KEY]: String(2 * 1024) };

describe('migration policies (amqp bus, postgres database)', () => {
  let cluster: Cluster;
  let app: FastifyInstance;
  let admin: string;
  let tiny: InstanceFlavor;

  beforeAll(async () => {
    cluster = await Cluster.start('amqp', 'postgres', SETTINGS);
    app = await apiOn(cluster);
    admin = await injectToken(app, 'admin', 'ferry-admin');
    tiny = await instanceFlavor(cluster.ds, 'm1.tiny');
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await cluster?.close();
  });

  const api = async (method: 'GET' | 'POST', url: string, payload?: unknown) => {
    const res = await app.inject({ method, url: `/compute/v2.1${url}`, headers: { 'x-auth-token': admin, 'openstack-api-version': 'compute 2.80' }, ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.body ? res.json() : undefined };
  };
  const record = (id: number) => cluster.ds.getRepository(Migration).findOneByOrFail({ id });
  const ended = async (id: number) => {
    await cluster.waitUntil(async () => ['completed', 'cancelled', 'failed', 'error'].includes((await record(id)).status), 30_000);
    return record(id);
  };
  /** A server written straight into the database (flavor copy and metadata as given, bypassing the API's checks) and built. */
  async function buildServer(metadata: Record<string, string>, extraSpecs: Record<string, string> = {}, flavor: Partial<InstanceFlavor> = {}): Promise<Instance> {
    const row = await insertBuildingInstance(cluster.ds, { ...tiny, ...flavor, extra_specs: extraSpecs }, { metadata });
    await cluster.requestBuild([row], requestSpecFor(tiny));
    return cluster.settled(row.uuid);
  }

  it('records each knob from the most specific place, shows it through the API, and moves at the policy\'s bandwidth', async () => {
    const flavor = await api('POST', '/flavors', { flavor: { name: 'policy', ram: 512, vcpus: 1, disk: 1 } });
    expect(flavor.status).toBe(200);
    const specs = await api('POST', `/flavors/${flavor.body.flavor.id}/os-extra_specs`, { extra_specs: {
      [`${P}max_downtime_ms`]: '300', [`${P}auto_converge`]: 'true', [`${P}bandwidth_mib_s`]: '128', [`${P}post_copy`]: 'false',
    } });
    expect(specs.status).toBe(200);
    // The image API is read-only: its properties are written where the catalog keeps them.
    const imageId = randomUUID();
    await cluster.ds.getRepository(Image).insert({
      id: imageId, name: 'policy-image', disk_format: 'qcow2', container_format: 'bare', size: 1024, virtual_size: 1024,
      properties: { [`${P}completion_timeout_s_per_gib`]: '900', [`${P}post_copy`]: 'true', [`${P}max_downtime_ms`]: '400' },
    });
    const created = await api('POST', '/servers', { server: {
      name: 'governed', flavorRef: flavor.body.flavor.id, imageRef: imageId, networks: 'none',
      metadata: { [BANDWIDTH_METADATA_KEY]: '64', [`${P}max_downtime_ms`]: '250' },
    } });
    expect(created.status).toBe(202);
    const uuid = created.body.server.id as string;
    await cluster.waitFor(uuid, (i) => i.vm_state === 'active' && i.task_state === null, 20_000);

    expect((await api('POST', `/servers/${uuid}/action`, { 'os-migrateLive': { host: null, block_migration: 'auto' } })).status).toBe(202);
    const listed = await api('GET', `/os-ferry-migrations?instance_uuid=${uuid}`);
    const id = listed.body.migrations[0].id as number;
    expect((await ended(id)).status).toBe('completed');

    const shown = await api('GET', `/os-ferry-migrations/${id}`);
    expect(shown.status).toBe(200);
    expect(shown.body.migration.migration_policy).toEqual({
      bandwidth_bytes_per_s: { value: 64 * MIB, source: 'server', key: BANDWIDTH_METADATA_KEY },
      max_downtime_ms: { value: 250, source: 'server', key: `${P}max_downtime_ms` },
      completion_timeout_s_per_gib: { value: 900, source: 'image', key: `${P}completion_timeout_s_per_gib` },
      auto_converge: { value: true, source: 'flavor', key: `${P}auto_converge` },
      post_copy: { value: true, source: 'image', key: `${P}post_copy` },
      rejected: [],
    });
    // 512 MiB of RAM at 64 MiB/s takes 8 s of the job's clock at least; at the host's 1 GiB/s it would take 0.5 s.
    const perform = shown.body.migration.phase_timings.perform as { elapsed_ms: number; max_downtime_ms: number };
    expect(perform.elapsed_ms).toBeGreaterThanOrEqual(8000);
    expect(perform.max_downtime_ms).toBeLessThanOrEqual(250);
  });

  it('ramps the downtime up to the policy\'s maximum and takes the policy\'s completion timeout, where the cluster has none', async () => {
    const vm = await buildServer({ ...NEVER_CONVERGES, [`${P}completion_timeout_s_per_gib`]: '60' }, { [`${P}max_downtime_ms`]: '300' });
    const m = await cluster.requestLiveMigration(vm.uuid);
    const done = await ended(m.id);
    // The timeout's action (abort) came at 60 s per GiB × 0.5 GiB = 30 s of the job's clock; the ramp (10 steps of
    // 1.5 s) had reached the flavor's 300 ms by then, not the cluster's 100 ms.
    expect(done.status).toBe('cancelled');
    expect(done.migration_policy).toMatchObject({
      max_downtime_ms: { value: 300, source: 'flavor' }, completion_timeout_s_per_gib: { value: 60, source: 'server' }, post_copy: { value: false, source: 'default' },
    });
    const perform = done.phase_timings.perform as { elapsed_ms: number; max_downtime_ms: number };
    expect(perform.max_downtime_ms).toBe(300);
    expect(perform.elapsed_ms).toBeGreaterThanOrEqual(30_000);
    expect(perform.elapsed_ms).toBeLessThan(45_000);
    const after = await cluster.waitFor(vm.uuid, (i) => i.task_state === null, 20_000);
    expect(after).toMatchObject({ host: vm.host, power_state: POWER_STATES.RUNNING });
  });

  it('switches a forced completion to post-copy when the policy allows it, though the cluster does not', async () => {
    const vm = await buildServer({ ...NEVER_CONVERGES, [`${P}post_copy`]: 'yes' });
    const m = await cluster.requestLiveMigration(vm.uuid);
    await cluster.waitUntil(async () => (await record(m.id)).status === 'running', 20_000);
    await cluster.compute.liveMigrationForceComplete(newRequestContext(), vm.host!, m.id);
    const done = await ended(m.id);
    expect(done.status).toBe('completed');
    expect(done.migration_policy!.post_copy).toEqual({ value: true, source: 'server', key: `${P}post_copy` });
    expect(done.phase_timings.perform).toMatchObject({ postcopy: true });
  });

  it('skips entries that cannot apply — logging each by key — and still completes the move', async () => {
    const vm = await buildServer(
      { [`${P}max_downtime_ms`]: 'abc', [BANDWIDTH_METADATA_KEY]: '0', [`${P}auto_converge`]: 'sometimes', [`${P}bandwidth_mib_s`]: '4096' },
      { [`${P}completion_timeout_s_per_gib`]: '-3', [`${P}max_downtime_ms`]: '400' },
    );
    // The source's compute again, with a logger the test reads.
    const lines: string[] = [];
    await cluster.stopCompute(vm.host!);
    await cluster.startCompute(vm.host!, { log: createLogger({ pretty: false, level: 'warn', destination: { write: (l: string) => lines.push(l) } }) });
    const m = await cluster.requestLiveMigration(vm.uuid);
    const done = await ended(m.id);
    expect(done.status).toBe('completed');
    expect(done.migration_policy).toMatchObject({
      max_downtime_ms: { value: 400, source: 'flavor' },
      bandwidth_bytes_per_s: { value: 1024 * MIB, source: 'default' },
      completion_timeout_s_per_gib: { value: 0, source: 'default' },
      auto_converge: { value: false, source: 'default' },
    });
    const rejected = done.migration_policy!.rejected.map((r) => [r.source, r.key]);
    expect(rejected).toEqual(expect.arrayContaining([
      ['server', `${P}max_downtime_ms`], ['server', `${P}bandwidth_mib_s`], ['server', `${P}auto_converge`], ['flavor', `${P}completion_timeout_s_per_gib`],
    ]));
    expect(done.migration_policy!.rejected.find((r) => r.key === `${P}bandwidth_mib_s`)!.problem).toMatch(/above this host's 1024 MiB\/s/);
    const warned = lines.map((l) => JSON.parse(l) as { level: number; key?: string; migration_id?: number; msg: string }).filter((l) => l.migration_id === m.id && l.key);
    expect(warned.map((l) => l.key).sort()).toEqual(rejected.map(([, key]) => key).sort());
    expect(warned.every((l) => l.level === 40 && l.msg.includes(l.key!))).toBe(true);
    await cluster.waitFor(vm.uuid, (i) => i.task_state === null && i.host === done.dest_compute, 20_000);
  });

  it('holds a cold move\'s disk copies to the bandwidth the policy sets, and leaves others unbounded', async () => {
    const rate = 8 * MIB;
    // No root disk to scan for holes, then 8 MiB of data written into it: a second at 8 MiB/s, a blink unbounded.
    const capped = await buildServer({ [`${P}bandwidth_mib_s`]: '8' }, {}, { root_gb: 0 });
    const free = await buildServer({}, {}, { root_gb: 0 });
    for (const vm of [capped, free]) await writeFile(cluster.driver(vm.host!).diskPath(vm.uuid), randomBytes(8 * MIB), { flag: 'r+' });
    const moved = async (vm: Instance) => {
      await cluster.requestMove(vm.uuid);
      await cluster.waitUntil(async () => (await cluster.ds.getRepository(Migration).findOneBy({ instance_uuid: vm.uuid, migration_type: 'migration' }))?.status === 'finished', 30_000);
      return cluster.ds.getRepository(Migration).findOneByOrFail({ instance_uuid: vm.uuid, migration_type: 'migration' });
    };
    const pass1 = (await moved(capped)).phase_timings.copy_pass_1 as { bytes: number; seconds: number; max_bytes_per_s?: number; max_bytes_per_s_from?: string };
    expect(pass1).toMatchObject({ max_bytes_per_s: rate, max_bytes_per_s_from: 'server' });
    expect(pass1.bytes).toBeGreaterThanOrEqual(8 * MIB);
    expect(pass1.seconds).toBeGreaterThanOrEqual(pass1.bytes / rate - 0.1);
    const unbounded = (await moved(free)).phase_timings.copy_pass_1 as { bytes: number; seconds: number };
    expect(unbounded).not.toHaveProperty('max_bytes_per_s');
    expect(unbounded.bytes).toBeGreaterThanOrEqual(8 * MIB);
    expect(unbounded.seconds).toBeLessThan(pass1.seconds / 2);
  });
});
