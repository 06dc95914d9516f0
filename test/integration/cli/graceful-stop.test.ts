// SIGTERM is a graceful stop: a compute in the middle of a disk copy takes no new work, leaves the move resumable and
// exits 0 in time, and the move completes once it is back; `ferry up` stops its services API first and exits 0.
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import pg from 'pg';
import { advanceInstanceTask, getInstance, Migration, openDatabase, startAction, type FerryDatabase, type Instance, type InstanceFlavor } from '@ferry/common/db';
import { createTransport, newRequestContext, type Transport } from '@ferry/common/rpc';
import { ComputeRpcApi } from '@ferry/compute/client';
import { FakeDriver } from '@ferry/compute/drivers';
import { SchedulerRpcApi } from '@ferry/scheduler';
import { deleteRpcTopology, testTransportUrl } from '../../support/amqp';
import { createTestDatabase, type TestDatabase } from '../../support/db';
import { eventually, runFerry, startFerry, tempStateDir, type FerryProcess } from '../../support/ferry-process';
import { insertBuildingInstance, instanceFlavor, requestSpecFor } from '../scheduler/fixtures';
import { sha256 } from '../../support/disk-hash';

jest.setTimeout(240_000);

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const SOURCE = 'cmp-stop-src';
const DEST = 'cmp-stop-dst';
const STOP_TIMEOUT_SECONDS = 20;


describe('SIGTERM to a compute in the middle of a cold migration\'s disk copy (separate processes over RabbitMQ)', () => {
  const state = tempStateDir();
  const prefix = `test_${randomBytes(4).toString('hex')}_`;
  let tdb: TestDatabase;
  let db: FerryDatabase;
  let bus: Transport;
  let env: NodeJS.ProcessEnv;
  const procs: FerryProcess[] = [];
  const start = async (args: string[]): Promise<FerryProcess> => {
    const p = startFerry(args, env);
    procs.push(p);
    await p.waitFor(/service started/, 60_000);
    return p;
  };
  const diskOf = (host: string, uuid: string) => new FakeDriver({ host, stateDir: state.dir, vcpus: 16, memoryMb: 65536, diskGb: 1000 }).diskPath(uuid);
  const instance = async (uuid: string): Promise<Instance> => (await getInstance(db.dataSource, uuid))!;
  const migrationOf = (uuid: string) => db.dataSource.getRepository(Migration).findOneOrFail({ where: { instance_uuid: uuid }, order: { id: 'DESC' } });

  beforeAll(async () => {
    tdb = await createTestDatabase();
    env = {
      FERRY_DATABASE_URL: tdb.url, FERRY_TRANSPORT_URL: testTransportUrl(), FERRY_BUS_PREFIX: prefix, FERRY_STATE_DIR: state.dir,
      FERRY_HEARTBEAT_INTERVAL: '1', FERRY_POWER_SYNC_INTERVAL: '1', FERRY_STOP_TIMEOUT: String(STOP_TIMEOUT_SECONDS),
      FERRY_FAKE_GUEST_WRITE_RATE: String(MIB),
    };
    const migrated = await runFerry(['db', 'migrate'], env, 90_000);
    expect(migrated.code).toBe(0);
    db = await openDatabase({ url: tdb.url, stateDir: state.dir, poolSize: 2 });
    bus = await createTransport({ url: testTransportUrl(), prefix });
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await bus?.close();
    await db?.close();
    await deleteRpcTopology(testTransportUrl(), { prefix, topics: ['compute', 'scheduler'], servers: [SOURCE, DEST, 'sched-stop'] });
    await tdb?.drop();
    state.remove();
  });

  it('exits 0 within FERRY_STOP_TIMEOUT leaving the move resumable; restarted, it completes the move with equal disks', async () => {
    const scheduler = new SchedulerRpcApi(bus);
    await start(['scheduler', '--host', 'sched-stop']);
    let source = await start(['compute', '--host', SOURCE]);
    // A disk with data on it to compare, whose copy its flavor's migration policy holds to 2 MiB/s: its 8 MiB take
    // seconds (copies skip holes, so a large sparse disk alone would be copied at once).
    const tiny = await instanceFlavor(db.dataSource, 'm1.tiny');
    const flavor: InstanceFlavor = { ...tiny, name: 'stop.3g', root_gb: 3, extra_specs: { ...tiny.extra_specs, 'ferry:migration_policy:bandwidth_mib_s': '2' } };
    const row = await insertBuildingInstance(db.dataSource, flavor);
    const buildCtx = newRequestContext({ user_id: 'demo', project_id: 'demo' });
    await startAction(db.dataSource, buildCtx, row.uuid, 'create');
    await scheduler.scheduleAndBuildInstances(buildCtx, [row.uuid], { num_attempts: 1, ...requestSpecFor(flavor) });
    const built = await eventually(async () => { const i = await instance(row.uuid); return i.vm_state === 'active' && i.task_state === null && i; }, 60_000);
    expect(built.host).toBe(SOURCE);
    const disk = await open(diskOf(SOURCE, row.uuid), 'r+');
    for (let i = 0; i < 8; i++) await disk.write(randomBytes(MIB), 0, MIB, i * 300 * MIB);
    await disk.close();

    await start(['compute', '--host', DEST]);
    // What the API does for a migrate action: win resize_prep, open the action, cast to the scheduler.
    expect(await advanceInstanceTask(db.dataSource, row.uuid, [null], 'resize_prep', { old_flavor: flavor, new_flavor: flavor })).toBe(true);
    const moveCtx = newRequestContext({ user_id: 'demo', project_id: 'demo' });
    await startAction(db.dataSource, moveCtx, row.uuid, 'migrate');
    await scheduler.migrateServer(moveCtx, { instance_uuid: row.uuid, migration_type: 'migration', new_flavor: flavor });
    await eventually(async () => {
      const m = await migrationOf(row.uuid).catch(() => undefined);
      return m?.status === 'migrating' && (m.disk_processed ?? 0) > 0 && (m.disk_processed ?? 0) < (m.disk_total ?? 0);
    }, 60_000, 50);

    const signalled = Date.now();
    expect(await source.stop('SIGTERM', (STOP_TIMEOUT_SECONDS + 10) * 1000)).toBe(0);
    const stopSeconds = (Date.now() - signalled) / 1000;
    expect(stopSeconds).toBeLessThan(STOP_TIMEOUT_SECONDS);
    expect(source.output()).toMatch(/disk copy interrupted by shutdown/);
    expect(source.output()).toMatch(/"service_name":"ferry-compute@cmp-stop-src".*"msg":"stopped"/);
    const interrupted = await migrationOf(row.uuid);
    expect(interrupted.status).toBe('migrating');
    expect(await instance(row.uuid)).toMatchObject({ host: SOURCE, task_state: 'resize_migrating' });

    source = await start(['compute', '--host', SOURCE]);
    const moved = await eventually(async () => { const i = await instance(row.uuid); return i.vm_state === 'resized' && i.task_state === null && i; }, 150_000, 500);
    expect(moved.host).toBe(DEST);
    expect((await migrationOf(row.uuid)).status).toBe('finished');
    expect(await sha256(diskOf(DEST, row.uuid), 3 * GIB)).toBe(await sha256(diskOf(SOURCE, row.uuid), 3 * GIB));
    console.log(`graceful stop mid-copy: SIGTERM to exit ${stopSeconds.toFixed(2)} s`);
  });
});

describe('SIGTERM to a compute whose step cannot reach a safe point', () => {
  const state = tempStateDir();
  const prefix = `test_${randomBytes(4).toString('hex')}_`;
  const HOST = 'cmp-stuck';
  let tdb: TestDatabase;
  let db: FerryDatabase;
  let bus: Transport;
  let env: NodeJS.ProcessEnv;
  const procs: FerryProcess[] = [];

  beforeAll(async () => {
    tdb = await createTestDatabase();
    env = {
      FERRY_DATABASE_URL: tdb.url, FERRY_TRANSPORT_URL: testTransportUrl(), FERRY_BUS_PREFIX: prefix, FERRY_STATE_DIR: state.dir,
      FERRY_HEARTBEAT_INTERVAL: '1', FERRY_POWER_SYNC_INTERVAL: '1', FERRY_STOP_TIMEOUT: '2',
    };
    expect((await runFerry(['db', 'migrate'], env, 90_000)).code).toBe(0);
    db = await openDatabase({ url: tdb.url, stateDir: state.dir, poolSize: 2 });
    bus = await createTransport({ url: testTransportUrl(), prefix });
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await bus?.close();
    await db?.close();
    await deleteRpcTopology(testTransportUrl(), { prefix, topics: ['compute', 'scheduler'], servers: [HOST, 'sched-stuck'] });
    await tdb?.drop();
    state.remove();
  });

  it('exits 1 once FERRY_STOP_TIMEOUT has passed, naming the step still running', async () => {
    for (const args of [['scheduler', '--host', 'sched-stuck'], ['compute', '--host', HOST]]) {
      procs.push(startFerry(args, env));
      await procs[procs.length - 1]!.waitFor(/service started/, 60_000);
    }
    const compute = procs[1]!;
    const flavor = await instanceFlavor(db.dataSource, 'm1.tiny');
    const row = await insertBuildingInstance(db.dataSource, flavor);
    const ctx = newRequestContext({ user_id: 'demo', project_id: 'demo' });
    await startAction(db.dataSource, ctx, row.uuid, 'create');
    await new SchedulerRpcApi(bus).scheduleAndBuildInstances(ctx, [row.uuid], { num_attempts: 1, ...requestSpecFor(flavor) });
    await eventually(async () => { const i = await getInstance(db.dataSource, row.uuid); return i?.vm_state === 'active' && i.task_state === null; }, 60_000);

    // The instance's row stays locked by another session: a stop of the instance cannot finish its database writes.
    const locker = new pg.Client({ connectionString: tdb.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      expect(await advanceInstanceTask(db.dataSource, row.uuid, [null], 'powering-off')).toBe(true);
      await locker.query('SELECT 1 FROM instances WHERE uuid = $1 FOR UPDATE', [row.uuid]);
      await new ComputeRpcApi(bus).stopInstance(ctx, HOST, row.uuid);
      await eventually(async () => {
        const { rows } = await locker.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted');
        return rows[0]!.n > 0;
      }, 15_000, 50);
      const signalled = Date.now();
      expect(await compute.stop('SIGTERM', 30_000)).toBe(1);
      const stopSeconds = (Date.now() - signalled) / 1000;
      expect(stopSeconds).toBeGreaterThanOrEqual(2);
      expect(stopSeconds).toBeLessThan(10);
      expect(compute.output()).toMatch(/"service_name":"ferry-compute@cmp-stuck","unfinished":\[[^\]]*"stop_instance \(cast /);
      expect(compute.output()).toMatch(/ferry: stopped without waiting any longer for ferry-compute@cmp-stuck \(stop_instance \(cast [^)]*\)/);
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
  });
});

describe('SIGTERM to an idle `ferry up`', () => {
  const state = tempStateDir();
  afterAll(() => state.remove());

  it('exits 0 quickly, stopping the API first, then the scheduler, then the computes, each logged as stopped', async () => {
    const up = startFerry(['up'], {
      FERRY_STATE_DIR: state.dir, FERRY_API_PORT: '0', FERRY_HEARTBEAT_INTERVAL: '1', FERRY_DATABASE_URL: '', FERRY_TRANSPORT_URL: '',
    });
    try {
      await up.waitFor(/Ctrl-C/, 90_000);
      const signalled = Date.now();
      expect(await up.stop('SIGTERM')).toBe(0);
      const stopSeconds = (Date.now() - signalled) / 1000;
      expect(stopSeconds).toBeLessThan(5);
      const stopped = [...up.output().matchAll(/"service_name":"([^"]+)".*"msg":"stopped"/g)].map((m) => m[1]!.replace(/@.*/, (h) => (h.startsWith('@compute') ? h : '')));
      expect(stopped.slice(0, 2)).toEqual(['ferry-api', 'ferry-scheduler']);
      expect(stopped.slice(2).sort()).toEqual(['ferry-compute@compute-1', 'ferry-compute@compute-2', 'ferry-compute@compute-3']);
      expect(up.output()).toMatch(/all services stopped/);
      console.log(`idle ferry up: SIGTERM to exit ${stopSeconds.toFixed(2)} s`);
    } finally {
      await up.stop('SIGKILL');
    }
  });
});
