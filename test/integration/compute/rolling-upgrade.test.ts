// A rolling upgrade over RabbitMQ and Postgres, as an operator runs one with FERRY_UPGRADE_LEVELS_COMPUTE: a compute of
// the previous release (serving compute RPC 1.8, without rebuild_instance) beside new ones keeps building, moving cold
// and live-migrating, both ways; what needs 1.9 (evacuation) is refused up front with a 409 naming the cap, and the old
// compute itself refuses a 1.9 message. Then every compute restarts, one at a time, on the new release while 50 cold
// moves run: every move finishes, none fails, and with the cap lifted evacuation is offered again.
import type { FastifyInstance } from 'fastify';
import { buildApp } from '@ferry/api';
import { CIRROS_IMAGE_ID, Migration, type InstanceFlavor } from '@ferry/common/db';
import { silentLogger } from '@ferry/common/log';
import { newRequestContext, RpcClient, UnsupportedVersion } from '@ferry/common/rpc';
import { COMPUTE_RPC_VERSION, COMPUTE_TOPIC, type ComputeEndpoint } from '@ferry/compute/client';
import { instanceFlavor } from '../scheduler/fixtures';
import { Cluster, HOSTS } from './cluster';
import { injectToken } from '../../support/tokens';
import { seedFleet } from '../../support/drain-fleet';

jest.setTimeout(240_000);

const OLD = '1.8';
const OLD_HOST = 'compute-3';

describe('rolling upgrade: an older compute beside newer ones, then every compute restarted on the new release (amqp, postgres)', () => {
  let cluster: Cluster;
  let app: FastifyInstance;
  let admin: string;
  let tiny: InstanceFlavor;

  const api = (method: 'GET' | 'POST', url: string, payload?: object, on: FastifyInstance = app) => on.inject({
    method, url: `/compute/v2.1${url}`, headers: { 'x-auth-token': admin, 'openstack-api-version': 'compute 2.56' }, ...(payload ? { payload } : {}),
  });
  const latestMove = async (uuid: string) => (await cluster.ds.getRepository(Migration).find({ where: { instance_uuid: uuid }, order: { id: 'DESC' }, take: 1 }))[0]!;

  beforeAll(async () => {
    cluster = await Cluster.start('amqp', 'postgres', { upgradeLevelsCompute: OLD, fakeLiveTimeScale: 0.01 });
    await cluster.stopCompute(OLD_HOST);
    await cluster.startCompute(OLD_HOST, { rpcVersion: OLD });
    app = buildApp({ config: cluster.config, db: cluster.db, transport: cluster.transport, log: silentLogger(), publicUrl: () => 'http://localhost' });
    await app.ready();
    admin = await injectToken(app, 'admin', 'ferry-admin');
    tiny = await instanceFlavor(cluster.ds, 'm1.tiny');
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await cluster?.close();
  });

  it('builds on the older compute, moves cold and live to and from it under the cap; evacuation (1.9) is refused up front; the old compute refuses a 1.9 message', async () => {
    // A build through the API, placed on the old compute (an admin's zone:host).
    const built = await api('POST', '/servers', { server: { name: 'on-old', flavorRef: '1', imageRef: CIRROS_IMAGE_ID, networks: 'none', availability_zone: `nova:${OLD_HOST}` } });
    expect(built.statusCode).toBe(202);
    const onOld = built.json().server.id as string;
    await cluster.waitFor(onOld, (i) => i.vm_state === 'active' && i.task_state === null && i.host === OLD_HOST, 30_000);
    expect((await cluster.driver(OLD_HOST).getVm(onOld))?.power_state).toBe(1);

    const [uuid] = await seedFleet(cluster.ds, cluster.driver('compute-1'), 'compute-1', [{ flavor: tiny, stopped: false }]);
    // Cold, to the old compute: it is the destination (prep_resize, finish_resize), the new source confirms after asking it.
    expect((await api('POST', `/servers/${uuid}/action`, { migrate: { host: OLD_HOST } })).statusCode).toBe(202);
    await cluster.waitFor(uuid!, (i) => i.vm_state === 'resized' && i.task_state === null, 30_000);
    expect((await api('POST', `/servers/${uuid}/action`, { confirmResize: null })).statusCode).toBe(204);
    await cluster.waitFor(uuid!, (i) => i.vm_state === 'active' && i.task_state === null && i.host === OLD_HOST, 30_000);
    expect((await latestMove(uuid!)).status).toBe('confirmed');
    // Live, from the old compute (it runs the five phases) to a new one, and back to it.
    for (const [from, to] of [[OLD_HOST, 'compute-2'], ['compute-2', OLD_HOST]] as const) {
      expect((await api('POST', `/servers/${uuid}/action`, { 'os-migrateLive': { host: to, block_migration: 'auto' } })).statusCode).toBe(202);
      await cluster.waitFor(uuid!, (i) => i.task_state === null && i.host === to, 30_000);
      expect(await latestMove(uuid!)).toMatchObject({ migration_type: 'live-migration', status: 'completed', source_compute: from, dest_compute: to });
    }
    expect((await cluster.driver(OLD_HOST).getVm(uuid!))?.power_state).toBe(1);

    // Evacuation needs rebuild_instance (1.9): a 409 naming the cap, before anything changes.
    const moves = await cluster.ds.getRepository(Migration).countBy({ instance_uuid: uuid! });
    const refused = await api('POST', `/servers/${uuid}/action`, { evacuate: {} });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().conflictingRequest.message).toMatch(/rebuild_instance: it needs version 1\.9, and FERRY_UPGRADE_LEVELS_COMPUTE caps compute messages at 1\.8/);
    expect(await cluster.instance(uuid!)).toMatchObject({ vm_state: 'active', task_state: null, host: OLD_HOST });
    expect(await cluster.ds.getRepository(Migration).countBy({ instance_uuid: uuid! })).toBe(moves);
    const hostEvacuation = await api('POST', `/os-ferry-hosts/${OLD_HOST}/evacuate`, { evacuate: {} });
    expect(hostEvacuation.statusCode).toBe(409);

    // The old compute serves 1.8: a message asking for 1.9 is refused there, not run.
    const uncapped = new RpcClient<ComputeEndpoint>(cluster.transport, { topic: COMPUTE_TOPIC, server: OLD_HOST, version: COMPUTE_RPC_VERSION }, { timeoutMs: 10_000 });
    await expect(uncapped.call(newRequestContext(), 'list_guests', {})).rejects.toBeInstanceOf(UnsupportedVersion);
    const asOld = uncapped.prepare({ version: OLD });
    expect((await asOld.call(newRequestContext(), 'list_guests', {})).guests.map((g) => g.uuid)).toContain(uuid);
  });

  it('restarts every compute on the new release, one at a time, while 50 cold moves run: all 50 finish and confirm, none fails', async () => {
    const uuids = [
      ...await seedFleet(cluster.ds, cluster.driver('compute-1'), 'compute-1', Array.from({ length: 25 }, () => ({ flavor: tiny, stopped: false }))),
      ...await seedFleet(cluster.ds, cluster.driver('compute-2'), 'compute-2', Array.from({ length: 25 }, () => ({ flavor: tiny, stopped: false }))),
    ];
    const started = Date.now();
    const accepted = await Promise.all(uuids.map((uuid) => api('POST', `/servers/${uuid}/action`, { migrate: null })));
    expect(accepted.map((r) => r.statusCode)).toEqual(uuids.map(() => 202));
    // Old first, as an operator would; each one back up (heartbeat) before the next goes down.
    const restarts: number[] = [];
    for (const host of [OLD_HOST, ...HOSTS.filter((h) => h !== OLD_HOST)]) {
      const t0 = Date.now();
      await cluster.stopCompute(host);
      await cluster.startCompute(host);
      restarts.push(Date.now() - t0);
    }
    for (const uuid of uuids) await cluster.waitFor(uuid, (i) => i.vm_state === 'resized' && i.task_state === null, 120_000);
    const confirmed = await Promise.all(uuids.map((uuid) => api('POST', `/servers/${uuid}/action`, { confirmResize: null })));
    expect(confirmed.map((r) => r.statusCode)).toEqual(uuids.map(() => 204));
    const movesNow = async () => JSON.stringify(await cluster.ds.query(
      `SELECT m.status, m.source_compute, m.dest_compute, i.vm_state, i.task_state, i.host, count(*)::int AS n FROM migrations m JOIN instances i ON i.uuid = m.instance_uuid
        WHERE m.instance_uuid = ANY($1) GROUP BY 1, 2, 3, 4, 5, 6`, [uuids])) + JSON.stringify(await cluster.ds.query(
      `SELECT DISTINCT left(last_error, 300) AS e FROM migrations WHERE instance_uuid = ANY($1) AND last_error IS NOT NULL`, [uuids]));
    await cluster.waitUntil(async () => (await cluster.ds.query(
      `SELECT count(*)::int AS n FROM instances WHERE uuid = ANY($1) AND vm_state = 'active' AND task_state IS NULL`, [uuids]))[0].n === 50, 60_000,
    ).catch(async (err: Error) => { throw new Error(`${err.message}; moves: ${await movesNow()}`); });
    const statuses: { status: string; n: number }[] = await cluster.ds.query(
      `SELECT status, count(*)::int AS n FROM migrations WHERE instance_uuid = ANY($1) GROUP BY status`, [uuids],
    );
    expect(statuses).toEqual([{ status: 'confirmed', n: 50 }]);
    for (const uuid of uuids) {
      const vm = await cluster.instance(uuid);
      expect(vm.host).not.toBeNull();
      expect((await cluster.driver(vm.host!).getVm(uuid))?.power_state).toBe(1);
    }
    process.stdout.write(`rolling upgrade: 50 cold moves under restarts of ${HOSTS.length} computes in ${Date.now() - started} ms; restarts took ${restarts.join(', ')} ms\n`);

    // All computes serve the newest version: an API without the cap offers evacuation again (refused only as Nova does: the host is up).
    const lifted = buildApp({ config: { ...cluster.config, upgradeLevelsCompute: undefined }, db: cluster.db, transport: cluster.transport, log: silentLogger(), publicUrl: () => 'http://localhost' });
    await lifted.ready();
    try {
      const res = await api('POST', `/servers/${uuids[0]}/action`, { evacuate: {} }, lifted);
      expect(res.statusCode).toBe(400);
      expect(res.json().badRequest.message).toMatch(/is still in use/);
    } finally {
      await lifted.close();
    }
  });
});
