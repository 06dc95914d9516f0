// The reconciler: each step whose cast was lost (a build left in scheduling, a resize_prep with no record, a live
// migration left accepted or queued, an abort recorded while the source was down) is found past its deadline and
// re-driven by its owner; the elected scheduler is one per pass (advisory lock); a late original message and the
// re-drive never both act.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { advanceMigration, claimResources, Instance as InstanceRow, flavorResources, getActionWithEvents, getMigration, listActions, listAllocations, Migration, rememberRequestValue, startAction, type Instance, type InstanceFlavor } from '@ferry/common/db';
import { buildRequestSpecOf, POWER_STATES, RESCUE_REQUESTED_IMAGE_KEY, type LiveMigrationData } from '@ferry/common/domain';
import { silentLogger } from '@ferry/common/log';
import { newRequestContext } from '@ferry/common/rpc';
import { ComputeRpcApi } from '@ferry/compute/client';
import { STATE_FILE, type FakeVmRecord } from '@ferry/compute/drivers';
import { BUILD_EVENT } from '@ferry/compute';
import { reconcileScheduler, SchedulerManager, type SchedulerPassReport } from '@ferry/scheduler';
import { insertBuildingInstance, instanceFlavor } from '../scheduler/fixtures';
import { Cluster, HOSTS, type BusKind, type DatabaseKind } from './cluster';
import { expectOneCopy } from './live-migration';

const FAST_LIVE = { fakeLiveTimeScale: 0.01, liveMigrationMonitorMs: 20, liveMigrationDowntimeDelay: 3, liveMigrationDowntimeMs: 100 };
const DEADLINE_SECONDS = 2;
/** Every step's deadline short, and a pass every second. */
const SHORT_DEADLINES = {
  reconcileIntervalSeconds: 1, reconcileBuildSeconds: DEADLINE_SECONDS, reconcileMovePrepSeconds: DEADLINE_SECONDS,
  reconcileLiveAcceptedSeconds: DEADLINE_SECONDS, reconcileLiveQueuedSeconds: DEADLINE_SECONDS, reconcileTaskSeconds: DEADLINE_SECONDS,
};
/** What the API does for a server action when the bus loses its cast. */
const lostCast = async (): Promise<void> => undefined;

/** A build the API accepted (row written, action opened) whose cast to the scheduler was lost. */
async function lostBuild(cluster: Cluster, flavor: InstanceFlavor): Promise<Instance> {
  const row = await insertBuildingInstance(cluster.ds, flavor);
  await startAction(cluster.ds, newRequestContext({ user_id: 'demo', project_id: 'demo' }), row.uuid, 'create');
  return row;
}

/** How many times the fake guest was booted (its state file's count). */
async function bootsOf(cluster: Cluster, host: string, uuid: string): Promise<number> {
  return (JSON.parse(await readFile(join(cluster.driver(host).vmDir(uuid), STATE_FILE), 'utf8')) as FakeVmRecord).boots;
}

const claims = async (cluster: Cluster, uuid: string) => (await listAllocations(cluster.ds, { consumer_uuid: uuid })).map((a) => a.host).sort();

async function waitStatus(cluster: Cluster, id: number, statuses: string[], timeoutMs = 20_000): Promise<Migration> {
  await cluster.waitUntil(async () => statuses.includes((await getMigration(cluster.ds, id))!.status), timeoutMs);
  return (await getMigration(cluster.ds, id))!;
}

/**
 * What the destination's checks leave when their cast to the source is lost: the destination claimed, the record
 * queued naming it, as check_can_live_migrate_destination writes it.
 */
async function lostQueuedLiveMigration(cluster: Cluster, vm: Instance, dest: string): Promise<Migration> {
  const m = await cluster.acceptLiveMigration(vm.uuid);
  expect(await claimResources(cluster.ds, { consumer_uuid: vm.uuid, host: dest, ...flavorResources(vm.flavor) })).toBe(true);
  const data: LiveMigrationData = { ...(m.migrate_data as unknown as LiveMigrationData), block_migration_resolved: true, alternates: [] };
  expect(await advanceMigration(cluster.ds, m.id, ['accepted'], 'queued', 'dest', {
    dest_compute: dest, dest_node: dest, dest_host: dest, migrate_data: data as unknown as Record<string, unknown>,
  })).toBe(true);
  return m;
}

export function reconcilerSuite(bus: BusKind, database: DatabaseKind = 'postgres'): void {
  describe(`reconciler re-drives lost casts (${bus} bus, ${database} database)`, () => {
    let cluster: Cluster;
    let tiny: InstanceFlavor;
    let small: InstanceFlavor;

    beforeAll(async () => {
      cluster = await Cluster.start(bus, database, { ...FAST_LIVE, ...SHORT_DEADLINES });
      tiny = await instanceFlavor(cluster.ds, 'm1.tiny');
      small = await instanceFlavor(cluster.ds, 'm1.small');
    }, 60_000);
    afterAll(async () => {
      await cluster?.close();
    });

    it('a build left in scheduling is scheduled and built by the elected scheduler', async () => {
      const row = await lostBuild(cluster, tiny);
      const built = await cluster.settled(row.uuid, 20_000);
      expect(built).toMatchObject({ vm_state: 'active', host: 'compute-1' });
      expect(await claims(cluster, row.uuid)).toEqual(['compute-1']);
      expect((await cluster.driver('compute-1').getVm(row.uuid))?.power_state).toBe(1);
      // The re-drive recorded its steps under the create action the API opened.
      const [create] = await listActions(cluster.ds, row.uuid);
      const events = (await getActionWithEvents(cluster.ds, row.uuid, create!.request_id))!.events.map((e) => e.event);
      expect(events).toEqual(expect.arrayContaining(['schedule_instances', BUILD_EVENT]));
    });

    it('a build placed on a host whose build message was lost is built by that host', async () => {
      const row = await lostBuild(cluster, tiny);
      // What the scheduler leaves before its cast: the claim, and the host named on the instance.
      expect(await claimResources(cluster.ds, { consumer_uuid: row.uuid, host: 'compute-3', ...flavorResources(tiny) })).toBe(true);
      await cluster.ds.query(`UPDATE instances SET host = 'compute-3', node = 'compute-3' WHERE uuid = $1`, [row.uuid]);
      const built = await cluster.settled(row.uuid, 20_000);
      expect(built).toMatchObject({ vm_state: 'active', host: 'compute-3' });
      await expectOneCopy(cluster, row.uuid);
    });

    it('a build left spawning with no run (its end write failed) is settled by its compute: ACTIVE if its VM runs, else ERROR', async () => {
      const host = HOSTS[0]!;
      const [up, none] = [await insertBuildingInstance(cluster.ds, tiny), await insertBuildingInstance(cluster.ds, tiny)];
      for (const row of [up, none]) {
        await cluster.ds.getRepository(InstanceRow).update({ uuid: row.uuid }, { task_state: 'spawning', host, node: host });
      }
      await cluster.driver(host).spawn({ uuid: up.uuid, name: `instance-${up.uuid.slice(0, 8)}`, flavor: tiny, image_ref: 'cirros' });
      expect(await cluster.waitFor(up.uuid, (i) => i.task_state === null, 20_000)).toMatchObject({ vm_state: 'active', host, power_state: POWER_STATES.RUNNING });
      expect(await cluster.waitFor(none.uuid, (i) => i.task_state === null, 20_000)).toMatchObject({ vm_state: 'error' });
      expect(await cluster.driver(host).getVm(none.uuid)).toBeUndefined();
    });

    it('a resize left in resize_prep with no record is handed to migrate_server again', async () => {
      const vm = await cluster.buildServer(tiny, {}, 20_000);
      await cluster.acceptMove(vm.uuid, { newFlavor: small });
      const resized = await cluster.waitFor(vm.uuid, (i) => i.vm_state === 'resized' && i.task_state === null, 30_000);
      expect(resized.host).not.toBe(vm.host);
      expect(resized.flavor.flavorid).toBe(small.flavorid);
      const [m] = await cluster.ds.getRepository(Migration).findBy({ instance_uuid: vm.uuid });
      expect(m).toMatchObject({ migration_type: 'resize', status: 'finished', dest_compute: resized.host });
    });

    it('a migrate to a named host left in resize_prep goes to that host', async () => {
      const vm = await cluster.buildServer(tiny, {}, 20_000);
      const target = HOSTS.find((h) => h !== vm.host && h !== 'compute-2') ?? 'compute-3';
      await cluster.acceptMove(vm.uuid, { host: target });
      const moved = await cluster.waitFor(vm.uuid, (i) => i.vm_state === 'resized' && i.task_state === null, 30_000);
      expect(moved.host).toBe(target);
      const [m] = await cluster.ds.getRepository(Migration).findBy({ instance_uuid: vm.uuid });
      expect(m).toMatchObject({ migration_type: 'migration', status: 'finished', dest_compute: target });
    });

    it('a live migration left accepted is handed to live_migrate_server again and completes', async () => {
      const vm = await cluster.buildServer(tiny, {}, 20_000);
      const m = await cluster.acceptLiveMigration(vm.uuid);
      expect((await waitStatus(cluster, m.id, ['completed', 'failed', 'error'])).status).toBe('completed');
      await cluster.waitFor(vm.uuid, (i) => i.task_state === null, 20_000);
      const after = await expectOneCopy(cluster, vm.uuid);
      expect(after.host).not.toBe(vm.host);
    });

    it('a live migration accepted (task migrating) but never recorded is dropped: task cleared, action failed, guest untouched', async () => {
      const vm = await cluster.buildServer(tiny, {}, 20_000);
      const ctx = await cluster.requestAction(vm.uuid, 'live-migration', 'migrating', lostCast);
      const after = await cluster.waitFor(vm.uuid, (i) => i.task_state === null, 20_000);
      expect(after).toMatchObject({ host: vm.host, vm_state: 'active', power_state: POWER_STATES.RUNNING });
      // The action is failed just after the task is cleared (two writes).
      const action = async () => (await listActions(cluster.ds, vm.uuid)).find((a) => a.request_id === ctx.request_id);
      await cluster.waitUntil(async () => (await action())?.message !== null, 10_000).catch(() => undefined);
      expect(await action()).toMatchObject({ message: 'Error' });
      expect(await expectOneCopy(cluster, vm.uuid)).toMatchObject({ host: vm.host });
    });

    it('a live migration left queued on its source is started by the source', async () => {
      const vm = await cluster.buildServer(tiny, {}, 20_000);
      const dest = HOSTS.find((h) => h !== vm.host)!;
      const m = await lostQueuedLiveMigration(cluster, vm, dest);
      expect((await waitStatus(cluster, m.id, ['completed', 'failed', 'error'])).status).toBe('completed');
      await cluster.waitFor(vm.uuid, (i) => i.task_state === null, 20_000);
      expect((await expectOneCopy(cluster, vm.uuid)).host).toBe(dest);
    });

    it('an abort recorded while the source was down is honoured by the source: the move ends before it began', async () => {
      const vm = await cluster.buildServer(tiny, {}, 20_000);
      const dest = HOSTS.find((h) => h !== vm.host)!;
      await cluster.stopCompute(vm.host!);
      try {
        const m = await lostQueuedLiveMigration(cluster, vm, dest);
        // What the API's abort does to a queued record; its cast to the (down) source is lost.
        expect(await advanceMigration(cluster.ds, m.id, ['queued'], 'cancelled', 'api')).toBe(true);
      } finally {
        await cluster.startCompute(vm.host!);
      }
      const after = await cluster.waitFor(vm.uuid, (i) => i.task_state === null, 20_000);
      expect(after).toMatchObject({ host: vm.host, vm_state: 'active' });
      expect(await claims(cluster, vm.uuid)).toEqual([vm.host]);
      expect(await cluster.driver(dest).getVm(vm.uuid)).toBeUndefined();
    });

    it('a stop whose cast was lost is run by the instance\'s compute; the late original then finds nothing to do', async () => {
      const vm = await cluster.buildServer(tiny, {}, 20_000);
      const ctx = await cluster.requestAction(vm.uuid, 'stop', 'powering-off', lostCast);
      const stopped = await cluster.waitFor(vm.uuid, (i) => i.task_state === null, 20_000);
      expect(stopped).toMatchObject({ vm_state: 'stopped', power_state: POWER_STATES.SHUTDOWN, host: vm.host });
      expect((await cluster.driver(vm.host!).getVm(vm.uuid))?.power_state).toBe(POWER_STATES.SHUTDOWN);
      await cluster.compute.stopInstance(ctx, vm.host!, vm.uuid);
      await new Promise((r) => setTimeout(r, 500));
      const events = (await getActionWithEvents(cluster.ds, vm.uuid, ctx.request_id))!.events;
      expect(events.filter((e) => e.event === 'compute_stop_instance').map((e) => e.result)).toEqual(['Success']);
    });

    it('a start left in its task while the guest already runs has its task cleared, the guest untouched', async () => {
      const vm = await cluster.buildServer(tiny, {}, 20_000);
      await cluster.requestAction(vm.uuid, 'stop', 'powering-off', (ctx, host) => cluster.compute.stopInstance(ctx, host, vm.uuid));
      await cluster.waitFor(vm.uuid, (i) => i.task_state === null && i.vm_state === 'stopped');
      // The start's cast is lost, and the guest is started behind Ferry's back.
      await cluster.requestAction(vm.uuid, 'start', 'powering-on', lostCast);
      await cluster.setVmStateBehindFerry(vm.host!, vm.uuid, 'running');
      const boots = await bootsOf(cluster, vm.host!, vm.uuid);
      const started = await cluster.waitFor(vm.uuid, (i) => i.task_state === null, 20_000);
      expect(started).toMatchObject({ vm_state: 'active', power_state: POWER_STATES.RUNNING });
      expect((await cluster.driver(vm.host!).getVm(vm.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
      expect(await bootsOf(cluster, vm.host!, vm.uuid)).toBe(boots);
    });

    it('a rescue, then an unrescue, whose casts were lost are run by the instance\'s compute', async () => {
      const vm = await cluster.buildServer(tiny, {}, 20_000);
      // What the API keeps before casting the rescue.
      await rememberRequestValue(cluster.ds, vm.uuid, RESCUE_REQUESTED_IMAGE_KEY, vm.image_ref);
      await cluster.requestAction(vm.uuid, 'rescue', 'rescuing', lostCast);
      const rescued = await cluster.waitFor(vm.uuid, (i) => i.task_state === null, 20_000);
      expect(rescued).toMatchObject({ vm_state: 'rescued', rescue_image_ref: vm.image_ref, pre_rescue_vm_state: 'active' });
      await cluster.requestAction(vm.uuid, 'unrescue', 'unrescuing', lostCast);
      const back = await cluster.waitFor(vm.uuid, (i) => i.task_state === null, 20_000);
      expect(back).toMatchObject({ vm_state: 'active', rescue_image_ref: null, power_state: POWER_STATES.RUNNING });
    });
  });
}

/** Passes run by hand (the services' own interval is an hour), to see who acts and how often. */
export function reconcilerElectionSuite(bus: BusKind, database: DatabaseKind = 'postgres'): void {
  describe(`scheduler reconciler election and late originals (${bus} bus, ${database} database)`, () => {
    let cluster: Cluster;
    let tiny: InstanceFlavor;

    beforeAll(async () => {
      cluster = await Cluster.start(bus, database, {
        ...FAST_LIVE, reconcileIntervalSeconds: 3600, reconcileBuildSeconds: 1, reconcileMovePrepSeconds: 1, reconcileLiveAcceptedSeconds: 1,
      });
      tiny = await instanceFlavor(cluster.ds, 'm1.tiny');
    }, 60_000);
    afterAll(async () => {
      await cluster?.close();
    });

    function reconciler(name: string): () => Promise<SchedulerPassReport> {
      const log = silentLogger();
      const manager = new SchedulerManager({ ds: cluster.ds, config: cluster.config, log, compute: new ComputeRpcApi(cluster.transport) });
      return () => reconcileScheduler({ ds: cluster.ds, config: cluster.config, log, manager, owner: name });
    }
    /** Past every deadline, as if the record had been left an hour ago. */
    const age = async (table: 'instances' | 'migrations', key: string | number) => {
      await cluster.ds.query(`UPDATE ${table} SET updated_at = now() - interval '1 hour' WHERE ${table === 'instances' ? 'uuid' : 'id'} = $1`, [key]);
    };

    it('of two schedulers running a pass at once, one is elected and re-drives the stuck build once', async () => {
      const row = await lostBuild(cluster, tiny);
      await age('instances', row.uuid);
      const [a, b] = [reconciler('scheduler-a'), reconciler('scheduler-b')];
      const reports = await Promise.all([a(), b()]);
      // Either the second was refused the lock, or it ran after the first had claimed the record: one action in all.
      expect(reports.filter((r) => r.elected).length).toBeGreaterThanOrEqual(1);
      expect(reports.reduce((n, r) => n + r.actions, 0)).toBe(1);
      expect(await cluster.settled(row.uuid, 20_000)).toMatchObject({ vm_state: 'active', host: 'compute-1' });
      // Claimed by this pass: a third pass finds nothing until the deadline passes again.
      expect((await a()).actions).toBe(0);
    });

    if (database === 'postgres') {
      it('a scheduler that cannot take the advisory lock does nothing in that pass', async () => {
        const row = await lostBuild(cluster, tiny);
        await age('instances', row.uuid);
        const holder = cluster.ds.createQueryRunner();
        await holder.connect();
        try {
          await holder.startTransaction();
          await holder.query("SELECT pg_advisory_xact_lock(hashtext('ferry-scheduler-reconciler')::bigint)");
          expect(await reconciler('scheduler-a')()).toEqual({ elected: false, actions: 0 });
          expect((await cluster.instance(row.uuid)).host).toBeNull();
          await holder.rollbackTransaction();
        } finally {
          await holder.release();
        }
        expect(await reconciler('scheduler-a')()).toEqual({ elected: true, actions: 1 });
        expect(await cluster.settled(row.uuid, 20_000)).toMatchObject({ vm_state: 'active', host: 'compute-1' });
      });
    }

    it('a pass with no compute up leaves a stuck build waiting (no NoValidHost), and the next pass with one up builds it', async () => {
      const row = await lostBuild(cluster, tiny);
      await age('instances', row.uuid);
      await cluster.ds.query(`UPDATE services SET forced_down = true WHERE "binary" = 'ferry-compute'`);
      try {
        expect(await reconciler('scheduler-a')()).toEqual({ elected: false, actions: 0 });
        expect(await cluster.instance(row.uuid)).toMatchObject({ vm_state: 'building', task_state: 'scheduling', host: null });
      } finally {
        await cluster.ds.query(`UPDATE services SET forced_down = false WHERE "binary" = 'ferry-compute'`);
      }
      expect(await reconciler('scheduler-a')()).toEqual({ elected: true, actions: 1 });
      expect(await cluster.settled(row.uuid, 20_000)).toMatchObject({ vm_state: 'active', host: 'compute-1' });
    });

    it('a late original build message and the re-drive, delivered together, build one copy on one host', async () => {
      const row = await lostBuild(cluster, tiny);
      await age('instances', row.uuid);
      const [create] = await listActions(cluster.ds, row.uuid);
      const late = newRequestContext({ request_id: create!.request_id, user_id: 'demo', project_id: 'demo' });
      const [, report] = await Promise.all([
        cluster.scheduler.scheduleAndBuildInstances(late, [row.uuid], buildRequestSpecOf(await cluster.instance(row.uuid))),
        reconciler('scheduler-a')(),
      ]);
      // The pass may find the build already placed by the original (then it does nothing): never two re-drives.
      expect(report.actions).toBeLessThanOrEqual(1);
      expect((await cluster.settled(row.uuid, 20_000)).vm_state).toBe('active');
      // The original, once more, after the build: it finds nothing to do.
      await cluster.scheduler.scheduleAndBuildInstances(late, [row.uuid], buildRequestSpecOf(await cluster.instance(row.uuid)));
      // Let any second build or claim land before looking.
      await new Promise((r) => setTimeout(r, 500));
      await expectOneCopy(cluster, row.uuid);
      const events = (await getActionWithEvents(cluster.ds, row.uuid, create!.request_id))!.events;
      expect(events.filter((e) => e.event === BUILD_EVENT).map((e) => e.result)).toEqual(['Success']);
    });

    it('a late original live_migrate_server and the re-drive, delivered together, run one live migration', async () => {
      const vm = await cluster.buildServer(tiny, {}, 20_000);
      const m = await cluster.acceptLiveMigration(vm.uuid);
      await age('migrations', m.id);
      const ctx = (m.migrate_data as unknown as LiveMigrationData).request_context;
      const [, report] = await Promise.all([cluster.scheduler.liveMigrateServer(newRequestContext(ctx), m.id), reconciler('scheduler-a')()]);
      expect(report.actions).toBeLessThanOrEqual(1);
      expect((await waitStatus(cluster, m.id, ['completed', 'failed', 'error'])).status).toBe('completed');
      await cluster.waitFor(vm.uuid, (i) => i.task_state === null, 20_000);
      await new Promise((r) => setTimeout(r, 500));
      expect((await expectOneCopy(cluster, vm.uuid)).host).not.toBe(vm.host);
      expect(await cluster.ds.getRepository(Migration).countBy({ instance_uuid: vm.uuid })).toBe(1);
    });

    it('a late original migrate_server and the re-drive, delivered together, open one move', async () => {
      const vm = await cluster.buildServer(tiny, {}, 20_000);
      const { ctx, request } = await cluster.acceptMove(vm.uuid);
      await age('instances', vm.uuid);
      const [, report] = await Promise.all([cluster.scheduler.migrateServer(ctx, request), reconciler('scheduler-a')()]);
      expect(report.actions).toBeLessThanOrEqual(1);
      const moved = await cluster.waitFor(vm.uuid, (i) => i.vm_state === 'resized' && i.task_state === null, 30_000);
      await new Promise((r) => setTimeout(r, 500));
      const moves = await cluster.ds.getRepository(Migration).findBy({ instance_uuid: vm.uuid });
      expect(moves.map((x) => [x.status, x.dest_compute])).toEqual([['finished', moved.host]]);
      // Until confirmed, the source keeps its claim; no third host holds one.
      expect(await claims(cluster, vm.uuid)).toEqual([vm.host!, moved.host!].sort());
    });
  });
}
