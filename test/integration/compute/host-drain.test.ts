// Host drain over RabbitMQ and Postgres: the API records the drain and disables the host, the elected scheduler moves
// every instance off (live where it runs, cold where it is stopped) within the per-host, per-cluster and link limits;
// a restarted scheduler resumes it, and one killed between two steps of a start moves nothing twice; cancel, dry run,
// bad input and authorization through the API; the same drain on the embedded database.
import type { FastifyInstance } from 'fastify';
import { buildApp } from '@ferry/api';
import { advanceInstanceTask, type InstanceFlavor } from '@ferry/common/db';
import { MIGRATION_POLICY_PREFIX } from '@ferry/common/domain';
import { silentLogger } from '@ferry/common/log';
import { instanceFlavor } from '../scheduler/fixtures';
import { Cluster, type BusKind, type DatabaseKind } from './cluster';
import { injectToken } from '../../support/tokens';
import { ConcurrencySampler, movesPerInstance, seedFleet, type FleetMember } from '../../support/drain-fleet';

jest.setTimeout(180_000);

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Harness {
  cluster: Cluster;
  app: FastifyInstance;
  admin: string;
  tiny: InstanceFlavor;
  /** m1.tiny with twice its RAM: bigger, but its 1 GB disk moves as fast (the fake driver copies disks for real). */
  wide: InstanceFlavor;
}

async function startHarness(bus: BusKind, database: DatabaseKind, overrides: Record<string, unknown> = {}): Promise<Harness> {
  const cluster = await Cluster.start(bus, database, { fakeLiveTimeScale: 0.2, drainIntervalMs: 100, ...overrides });
  const app = buildApp({ config: cluster.config, db: cluster.db, transport: cluster.transport, log: silentLogger(), publicUrl: () => 'http://localhost' });
  await app.ready();
  return {
    cluster, app, admin: await injectToken(app, 'admin', 'ferry-admin'),
    ...await (async () => {
      const tiny = await instanceFlavor(cluster.ds, 'm1.tiny');
      return { tiny, wide: { ...tiny, name: 'm1.tiny.wide', memory_mb: 2 * tiny.memory_mb } };
    })(),
  };
}

async function stopHarness(h: Harness | undefined): Promise<void> {
  await h?.app.close();
  await h?.cluster.close();
}

function call(h: Harness, method: 'GET' | 'POST', url: string, payload?: object, token: string | null = h.admin) {
  return h.app.inject({ method, url: `/compute/v2.1${url}`, headers: token ? { 'x-auth-token': token } : {}, ...(payload ? { payload } : {}) });
}

async function startDrain(h: Harness, host: string, body: object = {}): Promise<Json> {
  const res = await call(h, 'POST', `/os-ferry-hosts/${host}/drain`, body);
  expect(res.statusCode).toBe(202);
  return res.json().drain;
}

async function drainOf(h: Harness, id: string): Promise<Json> {
  const res = await call(h, 'GET', `/os-ferry-drains/${id}`);
  expect(res.statusCode).toBe(200);
  return res.json().drain;
}

async function waitForDrain(h: Harness, id: string, done: (d: Json) => boolean, timeoutMs = 120_000): Promise<Json> {
  let last: Json;
  await h.cluster.waitUntil(async () => done((last = await drainOf(h, id))), timeoutMs).catch((err: Error) => {
    throw new Error(`${err.message}; drain now: ${JSON.stringify({ ...last, servers: last?.servers?.filter((s: Json) => s.state !== 'moved') })}`);
  });
  return last;
}

const fleet = (flavor: InstanceFlavor, n: number, stopped = false): FleetMember[] => Array.from({ length: n }, () => ({ flavor, stopped }));

describe('host drain (amqp, postgres)', () => {
  let h: Harness;
  afterEach(async () => {
    await stopHarness(h);
  });

  it('moves 20 instances (active live, stopped cold) off a host, never past the per-host and per-cluster limits', async () => {
    h = await startHarness('amqp', 'postgres', { drainParallelPerHost: 2, drainParallelPerCluster: 3 });
    const { cluster } = h;
    const active = await seedFleet(cluster.ds, cluster.driver('compute-1'), 'compute-1', [...fleet(h.tiny, 12), ...fleet(h.wide, 2)]);
    const stopped = await seedFleet(cluster.ds, cluster.driver('compute-1'), 'compute-1', fleet(h.tiny, 6, true));
    const second = await seedFleet(cluster.ds, cluster.driver('compute-2'), 'compute-2', fleet(h.tiny, 3));
    const sampler = new ConcurrencySampler(cluster.ds);
    const started = await startDrain(h, 'compute-1');
    // A second host drained at the same time: both share the cluster's limit of 3.
    const other = await startDrain(h, 'compute-2');
    expect(started).toMatchObject({ host: 'compute-1', mode: 'auto', concurrency: 2, status: 'running', total: 20, service_disabled: true });

    const done = await waitForDrain(h, started.id, (d) => d.done);
    await waitForDrain(h, other.id, (d) => d.done);
    const seen = await sampler.stop();

    expect(done).toMatchObject({ status: 'completed', total: 20, moved: 20, failed: 0, skipped: 0, in_flight: 0, pending: 0 });
    expect(done.finished_at).not.toBeNull();
    expect(seen.perHost['compute-1']).toBeLessThanOrEqual(2);
    expect(seen.perHost['compute-2'] ?? 0).toBeLessThanOrEqual(2);
    expect(seen.cluster).toBeLessThanOrEqual(3);
    expect(seen.cluster).toBeGreaterThan(1);
    // The smallest first: both wide servers are in the last moves of the plan.
    expect(done.servers.slice(-2).map((s: Json) => s.instance_uuid).sort()).toEqual(active.slice(12).sort());
    for (const uuid of active) expect(await cluster.instance(uuid)).toMatchObject({ vm_state: 'active', task_state: null, host: 'compute-3' });
    for (const uuid of stopped) expect(await cluster.instance(uuid)).toMatchObject({ vm_state: 'stopped', task_state: null, host: 'compute-3' });
    const moves = await movesPerInstance(cluster.ds, [...active, ...stopped, ...second]);
    for (const uuid of [...active, ...stopped, ...second]) expect(moves.get(uuid)).toEqual({ records: 1, moved: 1 });
    const types: { migration_type: string; n: number }[] = await cluster.ds.query(
      `SELECT migration_type, count(*)::int AS n FROM migrations WHERE instance_uuid = ANY($1) GROUP BY migration_type ORDER BY 1`, [[...active, ...stopped]],
    );
    expect(types).toEqual([{ migration_type: 'live-migration', n: 14 }, { migration_type: 'migration', n: 6 }]);
    const [svc] = await cluster.ds.query(`SELECT disabled, disabled_reason FROM services WHERE host = 'compute-1' AND "binary" = 'ferry-compute'`);
    expect(svc).toEqual({ disabled: true, disabled_reason: `ferry drain ${started.id}` });
  });

  it('keeps the live migrations leaving a host within its link, while cold moves take the other slots', async () => {
    const gib = 1024 * 1024 * 1024;
    h = await startHarness('amqp', 'postgres', {
      drainParallelPerHost: 4, maxConcurrentLiveMigrations: 4, fakeMigrationBandwidth: gib, hostLinkBandwidth: 1.5 * gib,
    });
    const { cluster } = h;
    const uuids = [
      ...await seedFleet(cluster.ds, cluster.driver('compute-1'), 'compute-1', fleet(h.tiny, 5)),
      ...await seedFleet(cluster.ds, cluster.driver('compute-1'), 'compute-1', fleet(h.tiny, 3, true)),
    ];
    const sampler = new ConcurrencySampler(cluster.ds);
    const drain = await startDrain(h, 'compute-1');
    const done = await waitForDrain(h, drain.id, (d) => d.done);
    const seen = await sampler.stop();
    expect(done).toMatchObject({ status: 'completed', moved: 8, failed: 0 });
    // Two 1 GiB/s migrations would not fit a 1.5 GiB/s link.
    expect(seen.livePerHost['compute-1']).toBe(1);
    expect(seen.perHost['compute-1']).toBeLessThanOrEqual(4);
    const moves = await movesPerInstance(cluster.ds, uuids);
    for (const uuid of uuids) expect(moves.get(uuid)).toEqual({ records: 1, moved: 1 });
  });

  it('counts each live migration at the bandwidth its flavor\'s migration policy sets: three 512 MiB/s moves share a 1.5 GiB/s link', async () => {
    const gib = 1024 * 1024 * 1024;
    h = await startHarness('amqp', 'postgres', {
      drainParallelPerHost: 4, maxConcurrentLiveMigrations: 4, fakeMigrationBandwidth: gib, hostLinkBandwidth: 1.5 * gib,
    });
    const { cluster } = h;
    const capped = { ...h.tiny, name: 'm1.tiny.capped', extra_specs: { ...h.tiny.extra_specs, [`${MIGRATION_POLICY_PREFIX}bandwidth_mib_s`]: '512' } };
    const uuids = await seedFleet(cluster.ds, cluster.driver('compute-1'), 'compute-1', fleet(capped, 8));
    const sampler = new ConcurrencySampler(cluster.ds);
    const drain = await startDrain(h, 'compute-1');
    const done = await waitForDrain(h, drain.id, (d) => d.done);
    const seen = await sampler.stop();
    expect(done).toMatchObject({ status: 'completed', moved: 8, failed: 0 });
    // At the driver's 1 GiB/s only one would fit; at the policy's 512 MiB/s three do, never four.
    expect(seen.livePerHost['compute-1']).toBeGreaterThan(1);
    expect(seen.livePerHost['compute-1']).toBeLessThanOrEqual(3);
    const policies: { bw: number }[] = await cluster.ds.query(
      `SELECT (migration_policy->'bandwidth_bytes_per_s'->>'value')::float8 AS bw FROM migrations WHERE instance_uuid = ANY($1)`, [uuids],
    );
    expect(policies.map((p) => Number(p.bw))).toEqual(uuids.map(() => 512 * 1024 * 1024));
  });

  it('resumes after the scheduler restarts mid-drain: every instance moved exactly once', async () => {
    h = await startHarness('amqp', 'postgres', { fakeLiveTimeScale: 1 });
    const { cluster } = h;
    const uuids = [
      ...await seedFleet(cluster.ds, cluster.driver('compute-1'), 'compute-1', fleet(h.tiny, 8)),
      ...await seedFleet(cluster.ds, cluster.driver('compute-1'), 'compute-1', fleet(h.tiny, 2, true)),
    ];
    const drain = await startDrain(h, 'compute-1', { mode: 'auto', concurrency: 2 });
    await waitForDrain(h, drain.id, (d) => d.moved >= 2 && d.in_flight > 0);
    await cluster.restartScheduler();
    const done = await waitForDrain(h, drain.id, (d) => d.done);
    expect(done).toMatchObject({ status: 'completed', moved: 10, failed: 0 });
    const moves = await movesPerInstance(cluster.ds, uuids);
    for (const uuid of uuids) expect(moves.get(uuid)).toEqual({ records: 1, moved: 1 });
  });

  it('a scheduler that died between two steps of a start leaves nothing moved twice: what never took starts again', async () => {
    h = await startHarness('amqp', 'postgres', { reconcileIntervalSeconds: 1, reconcileLiveAcceptedSeconds: 2 });
    const { cluster } = h;
    const [marked, tasked, recorded, untouched] = await seedFleet(cluster.ds, cluster.driver('compute-1'), 'compute-1', fleet(h.tiny, 4));
    await cluster.stopScheduler();
    const drain = await startDrain(h, 'compute-1');
    // What a scheduler killed mid-start leaves, a minute ago: the start noted only; the task won but no record; the
    // record written but never handed to live_migrate_server.
    const longAgo = new Date(Date.now() - 60_000).toISOString();
    await cluster.ds.query(`UPDATE host_drains SET dispatched = $2::jsonb WHERE id = $1`, [drain.id, JSON.stringify({ [marked]: longAgo, [tasked]: longAgo, [recorded]: longAgo })]);
    expect(await advanceInstanceTask(cluster.ds, tasked, [null], 'migrating')).toBe(true);
    await cluster.acceptLiveMigration(recorded);
    const before = await drainOf(h, drain.id);
    expect(Object.fromEntries(before.servers.map((s: Json) => [s.instance_uuid, s.state]))).toEqual({
      [marked]: 'pending', [tasked]: 'in_flight', [recorded]: 'in_flight', [untouched]: 'pending',
    });

    await cluster.startScheduler();
    const done = await waitForDrain(h, drain.id, (d) => d.done);
    expect(done).toMatchObject({ status: 'completed', moved: 4, failed: 0 });
    const moves = await movesPerInstance(cluster.ds, [marked, recorded, untouched]);
    for (const uuid of [marked, recorded, untouched]) expect(moves.get(uuid)).toEqual({ records: 1, moved: 1 });
    // The task without a record was dropped by the reconciler (nothing had left), then started again: one move.
    expect((await movesPerInstance(cluster.ds, [tasked])).get(tasked)).toEqual({ records: 1, moved: 1 });
  });

  it('cancel starts no new move; the moves under way finish and the drain ends cancelled', async () => {
    h = await startHarness('amqp', 'postgres', { fakeLiveTimeScale: 1 });
    const { cluster } = h;
    const uuids = await seedFleet(cluster.ds, cluster.driver('compute-1'), 'compute-1', fleet(h.tiny, 8));
    const drain = await startDrain(h, 'compute-1', { concurrency: 1 });
    await waitForDrain(h, drain.id, (d) => d.in_flight > 0);
    const res = await call(h, 'POST', `/os-ferry-drains/${drain.id}/cancel`);
    expect(res.statusCode).toBe(202);
    expect(res.json().drain.status).toBe('cancelling');
    const done = await waitForDrain(h, drain.id, (d) => d.done);
    expect(done.status).toBe('cancelled');
    expect(done.cancelled_at).not.toBeNull();
    expect(done.in_flight).toBe(0);
    expect(done.moved).toBeGreaterThanOrEqual(1);
    expect(done.pending).toBe(8 - done.moved);
    // Nothing else starts once cancelled.
    await new Promise((r) => setTimeout(r, 1000));
    const records: { n: number }[] = await cluster.ds.query(`SELECT count(*)::int AS n FROM migrations WHERE instance_uuid = ANY($1)`, [uuids]);
    expect(records[0].n).toBe(done.moved);
    const again = await call(h, 'POST', `/os-ferry-drains/${drain.id}/cancel`);
    expect(again.statusCode).toBe(409);
    expect(again.json().conflictingRequest.message).toMatch(/cancelled; only a running drain can be cancelled/);
  });

  it('a dry run answers the plan (order, how each moves) and changes nothing; bad input is a 4xx; admin only', async () => {
    h = await startHarness('amqp', 'postgres');
    const { cluster } = h;
    const [big] = await seedFleet(cluster.ds, cluster.driver('compute-1'), 'compute-1', fleet(h.wide, 1));
    const [idle] = await seedFleet(cluster.ds, cluster.driver('compute-1'), 'compute-1', fleet(h.tiny, 1, true));
    const [busy] = await seedFleet(cluster.ds, cluster.driver('compute-1'), 'compute-1', fleet(h.tiny, 1));
    const res = await call(h, 'POST', '/os-ferry-hosts/compute-1/drain', { mode: 'live', dry_run: true });
    expect(res.statusCode).toBe(200);
    const plan = res.json().drain;
    expect(plan).toMatchObject({ host: 'compute-1', mode: 'live', concurrency: 2, dry_run: true, total: 3 });
    expect(plan.servers.map((s: Json) => [s.instance_uuid, s.move])).toEqual([[idle, null], [busy, 'live'], [big, 'live']]);
    expect(plan.servers[0].skip_reason).toMatch(/^stopped: mode live/);
    expect(await cluster.ds.query('SELECT count(*)::int AS n FROM host_drains')).toEqual([{ n: 0 }]);
    expect(await cluster.ds.query(`SELECT disabled FROM services WHERE host = 'compute-1' AND "binary" = 'ferry-compute'`)).toEqual([{ disabled: false }]);
    expect(await cluster.ds.query('SELECT count(*)::int AS n FROM migrations')).toEqual([{ n: 0 }]);

    const bad = async (url: string, body: object | undefined, status: number, message: RegExp, token?: string | null) => {
      const r = await call(h, 'POST', url, body, token === undefined ? h.admin : token);
      expect(r.statusCode).toBe(status);
      expect(JSON.stringify(r.json())).toMatch(message);
    };
    await bad('/os-ferry-hosts/nowhere/drain', {}, 404, /Compute host nowhere not found/);
    await bad('/os-ferry-hosts/compute-1/drain', { mode: 'fast' }, 400, /mode/);
    await bad('/os-ferry-hosts/compute-1/drain', { concurrency: 0 }, 400, /concurrency/);
    await bad('/os-ferry-hosts/compute-1/drain', { concurrency: 'two' }, 400, /concurrency/);
    await bad('/os-ferry-hosts/compute-1/drain', { parallel: 3 }, 400, /parallel|additional/);
    await bad('/os-ferry-hosts/compute-1/drain', {}, 403, /os-ferry-host-drains/, await injectToken(h.app, 'demo', 'ferry-demo'));
    await bad('/os-ferry-hosts/compute-1/drain', {}, 401, /.+/, null);
    expect(await cluster.ds.query('SELECT count(*)::int AS n FROM host_drains')).toEqual([{ n: 0 }]);

    const drain = await startDrain(h, 'compute-1', { mode: 'live' });
    await bad('/os-ferry-hosts/compute-1/drain', {}, 409, new RegExp(`already being drained \\(drain ${drain.id}`));
    expect((await call(h, 'GET', '/os-ferry-drains/not-a-uuid')).statusCode).toBe(404);
    expect((await call(h, 'GET', '/os-ferry-drains/00000000-0000-4000-8000-000000000000')).statusCode).toBe(404);
    expect((await call(h, 'GET', '/os-ferry-drains', undefined, await injectToken(h.app, 'demo', 'ferry-demo'))).statusCode).toBe(403);
    expect((await call(h, 'GET', '/os-ferry-drains', undefined, null)).statusCode).toBe(401);
    const done = await waitForDrain(h, drain.id, (d) => d.done);
    expect(done).toMatchObject({ status: 'completed', moved: 2, skipped: 1, failed: 0 });
    expect(done.servers.find((s: Json) => s.instance_uuid === idle)).toMatchObject({ state: 'skipped', reason: expect.stringMatching(/^stopped/) });
    const list = (await call(h, 'GET', '/os-ferry-drains')).json().drains;
    expect(list).toEqual([expect.objectContaining({ id: drain.id, status: 'completed', moved: 2 })]);
  });
});

describe('host drain (in-process bus, embedded database)', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await stopHarness(h);
  });

  it('moves every instance off on the embedded database (one connection)', async () => {
    h = await startHarness('inproc', 'embedded');
    const { cluster } = h;
    const uuids = [
      ...await seedFleet(cluster.ds, cluster.driver('compute-1'), 'compute-1', fleet(h.tiny, 4)),
      ...await seedFleet(cluster.ds, cluster.driver('compute-1'), 'compute-1', fleet(h.tiny, 2, true)),
    ];
    const drain = await startDrain(h, 'compute-1', { mode: 'cold' });
    const done = await waitForDrain(h, drain.id, (d) => d.done);
    expect(done).toMatchObject({ status: 'completed', moved: 6, failed: 0 });
    const moves = await movesPerInstance(cluster.ds, uuids);
    for (const uuid of uuids) expect(moves.get(uuid)).toEqual({ records: 1, moved: 1 });
    for (const uuid of uuids) expect((await cluster.instance(uuid)).host).not.toBe('compute-1');
  });
});
