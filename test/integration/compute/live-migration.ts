// Live migration through the scheduler and fake-driver computes: the five phases, a paused guest, queueing behind
// max_concurrent_live_migrations, abort, force-complete, the completion timeout, and failures at each phase.
import { randomBytes } from 'node:crypto';
import { open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { advanceMigration, getActionWithEvents, listAllocations, Migration, requestLiveSteer, type Instance, type InstanceFlavor } from '@ferry/common/db';
import { DIRTY_RATE_METADATA_KEY, POWER_STATES } from '@ferry/common/domain';
import { newRequestContext } from '@ferry/common/rpc';
import { armFault, FAULTS_FILE } from '@ferry/compute/drivers';
import { allocatedRanges, totalLength } from '@ferry/compute/transfer';
import { instanceFlavor } from '../scheduler/fixtures';
import { Cluster, HOSTS, type BusKind, type DatabaseKind } from './cluster';
import { sha256 } from '../../support/disk-hash';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

// The downtime ramp tops out at 100 ms, below what 512 MiB takes at 1 GiB/s (500 ms): a guest that dirties faster than
// the link never fits the allowed downtime, however long it runs.
const FAST = { fakeLiveTimeScale: 0.01, liveMigrationMonitorMs: 20, liveMigrationDowntimeDelay: 3, liveMigrationDowntimeMs: 100, powerSyncSeconds: 1 };

/**
 * Never two copies: exactly one host's driver runs the guest (or holds it paused, for a paused guest), the database
 * names that host, no task is left, and the only claim is there.
 */
export async function expectOneCopy(cluster: Cluster, uuid: string, state: number = POWER_STATES.RUNNING): Promise<Instance> {
  const instance = await cluster.instance(uuid);
  // Every host's copy with its power state, so a failure shows where each copy is and in what state.
  const copies: Record<string, number> = {};
  for (const host of HOSTS) {
    const vm = await cluster.driver(host).getVm(uuid);
    if (vm) copies[host] = vm.power_state;
  }
  expect({ host: instance.host, vm_state: instance.vm_state, task_state: instance.task_state, copies })
    .toEqual({ host: instance.host, vm_state: instance.vm_state, task_state: null, copies: { [instance.host!]: state } });
  expect((await listAllocations(cluster.ds, { consumer_uuid: uuid })).map((a) => a.host)).toEqual([instance.host]);
  return instance;
}

export function liveMigrationSuite(bus: BusKind, database: DatabaseKind = 'postgres'): void {
  describe(`live migration (${bus} bus, ${database} database)`, () => {
    let cluster: Cluster;
    let tiny: InstanceFlavor;

    beforeAll(async () => {
      // Completion timeout off here: a guest that never converges keeps going until it is aborted or forced.
      cluster = await Cluster.start(bus, database, { ...FAST, liveMigrationCompletionTimeout: 0 });
      tiny = await instanceFlavor(cluster.ds, 'm1.tiny');
    }, 60_000);
    afterAll(async () => {
      await cluster?.close();
    });

    async function buildServer(metadata: Record<string, string> = {}): Promise<Instance> {
      return cluster.buildServer(tiny, { metadata });
    }
    /** A guest dirtying its RAM twice as fast as the fake link moves it: it never converges on its own. */
    const neverConverges = () => buildServer({ [DIRTY_RATE_METADATA_KEY]: String(2 * 1024) });
    const record = (id: number) => cluster.ds.getRepository(Migration).findOneByOrFail({ id });
    const waitStatus = async (id: number, statuses: string[], timeoutMs = 20_000) => {
      await cluster.waitUntil(async () => statuses.includes((await record(id)).status), timeoutMs);
      return record(id);
    };
    const claims = async (uuid: string) => (await listAllocations(cluster.ds, { consumer_uuid: uuid })).map((a) => a.host).sort();
    const vmOn = (host: string, uuid: string) => cluster.driver(host).getVm(uuid);
    const settledIdle = (uuid: string) => cluster.waitFor(uuid, (i) => i.task_state === null, 20_000);

    it('moves a running guest through the five phases: completed, the database names the destination, only it runs the guest', async () => {
      const vm = await buildServer();
      // Data in 4 places of its 1 GiB disk: the block migration moves those regions, not the holes between them.
      const disk = await open(cluster.driver(vm.host!).diskPath(vm.uuid), 'r+');
      for (const at of [0, 300, 700, 1023]) await disk.write(randomBytes(MIB), 0, MIB, at * MIB);
      await disk.close();
      const held = totalLength((await allocatedRanges(cluster.driver(vm.host!).diskPath(vm.uuid)))!);
      const before = await sha256(cluster.driver(vm.host!).diskPath(vm.uuid), GIB);
      const m = await cluster.requestLiveMigration(vm.uuid);
      const done = await waitStatus(m.id, ['completed', 'failed', 'error']);
      expect(done.status).toBe('completed');
      const after = await settledIdle(vm.uuid);
      expect(after).toMatchObject({ vm_state: 'active', host: done.dest_compute, power_state: POWER_STATES.RUNNING });
      expect(after.host).not.toBe(vm.host);
      expect((await vmOn(after.host!, vm.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
      expect(await vmOn(vm.host!, vm.uuid)).toBeUndefined();
      expect(await claims(vm.uuid)).toEqual([after.host]);
      expect(done).toMatchObject({ memory_total: 512 * 1024 * 1024, memory_remaining: 0 });
      expect(done.memory_processed).toBeGreaterThanOrEqual(512 * 1024 * 1024);
      // Fake hosts do not share storage: `auto` chose block migration.
      expect((done.migrate_data as { block_migration_resolved: boolean }).block_migration_resolved).toBe(true);
      // disk_total is what the copy moved (the regions the disk holds), and the copy is whole and as sparse as the source.
      expect(held).toBeGreaterThanOrEqual(4 * MIB);
      expect(held).toBeLessThan(32 * MIB);
      expect(done).toMatchObject({ disk_total: held, disk_processed: held, disk_remaining: 0 });
      const copy = cluster.driver(after.host!).diskPath(vm.uuid);
      expect(await sha256(copy, GIB)).toBe(before);
      expect((await stat(copy)).blocks * 512).toBeLessThan(32 * MIB);
      expect(Object.keys(done.phase_timings)).toEqual(expect.arrayContaining(['preparing', 'perform']));
      const ctx = (done.migrate_data as { request_context: { request_id: string } }).request_context;
      const action = await getActionWithEvents(cluster.ds, vm.uuid, ctx.request_id);
      expect(action!.events.map((e) => [e.event, e.result])).toEqual(expect.arrayContaining([
        ['conductor_live_migrate_instance', 'Success'], ['compute_check_can_live_migrate_destination', 'Success'], ['compute_live_migration', 'Success'],
        ['compute_pre_live_migration', 'Success'], ['compute_post_live_migration_at_destination', 'Success'],
      ]));
    });

    it('a paused guest arrives paused', async () => {
      const vm = await buildServer();
      await cluster.requestAction(vm.uuid, 'pause', 'pausing', (ctx, host) => cluster.compute.pauseInstance(ctx, host, vm.uuid));
      await cluster.waitFor(vm.uuid, (i) => i.vm_state === 'paused' && i.task_state === null);
      const m = await cluster.requestLiveMigration(vm.uuid);
      expect((await waitStatus(m.id, ['completed', 'failed', 'error'])).status).toBe('completed');
      const after = await settledIdle(vm.uuid);
      expect(after).toMatchObject({ vm_state: 'paused', power_state: POWER_STATES.PAUSED });
      expect((await vmOn(after.host!, vm.uuid))?.power_state).toBe(POWER_STATES.PAUSED);
    });

    /** Two guests on one source: the first migrating and never converging, the second's migration queued behind it. */
    async function oneRunningOneQueued() {
      const first = await neverConverges();
      const second = await buildServer();
      // The spreading weigher puts both on the host with the most free RAM.
      expect(second.host).toBe(first.host);
      const m1 = await cluster.requestLiveMigration(first.uuid);
      await waitStatus(m1.id, ['running']);
      const m2 = await cluster.requestLiveMigration(second.uuid);
      const queued = await waitStatus(m2.id, ['queued']);
      return { first, second, m1, m2, queued };
    }

    it('queues a second migration from the same source behind max_concurrent_live_migrations (1), then force-completes the first', async () => {
      const { first, m1, m2 } = await oneRunningOneQueued();
      await new Promise((r) => setTimeout(r, 300));
      expect((await record(m2.id)).status).toBe('queued');
      expect((await record(m1.id)).status).toBe('running');

      await cluster.compute.liveMigrationForceComplete(newRequestContext(), first.host!, m1.id);
      const done1 = await waitStatus(m1.id, ['completed', 'failed', 'cancelled']);
      expect(done1.status).toBe('completed');
      // Post-copy is not permitted here, so forcing paused the guest for the switch-over; it runs again on arrival.
      expect(done1.phase_timings.perform).toMatchObject({ paused: true, postcopy: false });
      expect((await settledIdle(first.uuid)).power_state).toBe(POWER_STATES.RUNNING);
      expect((await waitStatus(m2.id, ['completed', 'failed', 'error'])).status).toBe('completed');
    });

    it('aborts a queued migration: cancelled before it starts, destination claim freed, the guest never left', async () => {
      const { first, second, m1, m2, queued } = await oneRunningOneQueued();
      await cluster.compute.liveMigrationAbort(newRequestContext(), first.host!, m2.id);
      expect((await waitStatus(m2.id, ['cancelled', 'completed', 'failed'])).status).toBe('cancelled');
      // It leaves the queue at once, while the first still holds the slot.
      expect(await settledIdle(second.uuid)).toMatchObject({ host: second.host, vm_state: 'active', power_state: POWER_STATES.RUNNING });
      expect(await claims(second.uuid)).toEqual([second.host]);
      expect(await vmOn(queued.dest_compute!, second.uuid)).toBeUndefined();
      expect((await record(m1.id)).status).toBe('running');
      await cluster.compute.liveMigrationAbort(newRequestContext(), first.host!, m1.id);
      await waitStatus(m1.id, ['cancelled']);
    });

    it('a queued migration cancelled on the record alone (its cast lost) ends when the slot frees: claim freed, task cleared, the guest never left', async () => {
      const { first, second, m1, m2, queued } = await oneRunningOneQueued();
      // As the API cancels a migration that is not transferring yet: on the record, then a cast that never arrives here.
      expect(await advanceMigration(cluster.ds, m2.id, ['queued'], 'cancelled', 'api')).toBe(true);
      expect(await claims(second.uuid)).toEqual([second.host, queued.dest_compute].sort());
      // The source's run for m2 still waits for the slot; it takes it when the first migration ends.
      await cluster.compute.liveMigrationAbort(newRequestContext(), first.host!, m1.id);
      expect((await waitStatus(m1.id, ['cancelled'])).status).toBe('cancelled');
      expect(await settledIdle(second.uuid)).toMatchObject({ host: second.host, vm_state: 'active', power_state: POWER_STATES.RUNNING });
      expect(await claims(second.uuid)).toEqual([second.host]);
      expect((await record(m2.id)).status).toBe('cancelled');
      expect(await vmOn(queued.dest_compute!, second.uuid)).toBeUndefined();
      expect((await vmOn(second.host!, second.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
    });

    it('a job that fails mid-transfer rolls back; a Confirm that fails is retried until the move completes', async () => {
      const vm = await buildServer();
      await armFault(cluster.driver(vm.host!).hostDir, 'live_migration_job');
      const failed = await cluster.requestLiveMigration(vm.uuid);
      const f = await waitStatus(failed.id, ['failed', 'completed', 'error']);
      expect(f.status).toBe('failed');
      expect(await settledIdle(vm.uuid)).toMatchObject({ host: vm.host, power_state: POWER_STATES.RUNNING });
      expect(await vmOn(f.dest_compute!, vm.uuid)).toBeUndefined();

      await armFault(cluster.driver(vm.host!).hostDir, 'live_migration_confirm', { times: 2 });
      const retried = await cluster.requestLiveMigration(vm.uuid);
      expect((await waitStatus(retried.id, ['completed', 'failed', 'error'])).status).toBe('completed');
      const after = await settledIdle(vm.uuid);
      expect(await vmOn(vm.host!, vm.uuid)).toBeUndefined();
      expect((await vmOn(after.host!, vm.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
      expect(await claims(vm.uuid)).toEqual([after.host]);
    });

    it('aborts a running migration: cancelled, the guest keeps running on the source, the destination drops its incoming VM and claim', async () => {
      const vm = await neverConverges();
      const m = await cluster.requestLiveMigration(vm.uuid);
      const running = await waitStatus(m.id, ['running']);
      await cluster.compute.liveMigrationAbort(newRequestContext(), vm.host!, m.id);
      expect((await waitStatus(m.id, ['cancelled', 'failed', 'completed'])).status).toBe('cancelled');
      const after = await settledIdle(vm.uuid);
      expect(after).toMatchObject({ host: vm.host, vm_state: 'active', power_state: POWER_STATES.RUNNING });
      expect((await vmOn(vm.host!, vm.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
      expect(await vmOn(running.dest_compute!, vm.uuid)).toBeUndefined();
      expect(await claims(vm.uuid)).toEqual([vm.host]);
    });

    it('applies an abort or force-complete kept on the record though its message never comes (the API died after recording it)', async () => {
      const aborted = await neverConverges();
      const a = await cluster.requestLiveMigration(aborted.uuid);
      const running = await waitStatus(a.id, ['running']);
      expect(await requestLiveSteer(cluster.ds, a.id, 'abort')).toBe(true);
      // A later force-complete never replaces an abort.
      expect(await requestLiveSteer(cluster.ds, a.id, 'force_complete')).toBe(false);
      expect((await waitStatus(a.id, ['cancelled', 'failed', 'completed'])).status).toBe('cancelled');
      expect(await settledIdle(aborted.uuid)).toMatchObject({ host: aborted.host, vm_state: 'active', power_state: POWER_STATES.RUNNING });
      expect(await vmOn(running.dest_compute!, aborted.uuid)).toBeUndefined();
      expect(await requestLiveSteer(cluster.ds, a.id, 'abort')).toBe(false);

      const forced = await neverConverges();
      const f = await cluster.requestLiveMigration(forced.uuid);
      await waitStatus(f.id, ['running']);
      expect(await requestLiveSteer(cluster.ds, f.id, 'force_complete')).toBe(true);
      const done = await waitStatus(f.id, ['cancelled', 'failed', 'completed']);
      expect(done.status).toBe('completed');
      expect(await settledIdle(forced.uuid)).toMatchObject({ host: done.dest_compute, power_state: POWER_STATES.RUNNING });
      expect(await claims(forced.uuid)).toEqual([done.dest_compute]);
    });

    it('a failed Prepare changes nothing on the source', async () => {
      const vm = await buildServer();
      const dest = vm.host === 'compute-1' ? 'compute-2' : 'compute-1';
      await armFault(cluster.driver(dest).hostDir, 'live_migration_prepare');
      const m = await cluster.requestLiveMigration(vm.uuid, { host: dest });
      const done = await waitStatus(m.id, ['failed', 'error', 'completed']);
      expect(done.status).toBe('failed');
      expect(done.last_error).toMatch(/live_migration_prepare/);
      expect(await settledIdle(vm.uuid)).toMatchObject({ host: vm.host, vm_state: 'active', power_state: POWER_STATES.RUNNING });
      expect((await vmOn(vm.host!, vm.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
      expect(await vmOn(dest, vm.uuid)).toBeUndefined();
      expect(await claims(vm.uuid)).toEqual([vm.host]);
    });

    it('a failed Finish resumes the guest on the source: never running on both, never paused on both', async () => {
      const vm = await buildServer();
      const dest = vm.host === 'compute-1' ? 'compute-2' : 'compute-1';
      await armFault(cluster.driver(dest).hostDir, 'live_migration_finish');
      const m = await cluster.requestLiveMigration(vm.uuid, { host: dest });
      expect((await waitStatus(m.id, ['failed', 'error', 'completed'])).status).toBe('failed');
      expect(await settledIdle(vm.uuid)).toMatchObject({ host: vm.host, power_state: POWER_STATES.RUNNING });
      expect((await vmOn(vm.host!, vm.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
      expect(await vmOn(dest, vm.uuid)).toBeUndefined();
      expect(await claims(vm.uuid)).toEqual([vm.host]);
      await expectOneCopy(cluster, vm.uuid);
    });

    it('a Finish whose reply is lost after the destination resumed the guest finishes forward: one running copy, on the destination', async () => {
      const vm = await buildServer();
      const dest = vm.host === 'compute-1' ? 'compute-2' : 'compute-1';
      await armFault(cluster.driver(dest).hostDir, 'live_migration_finish.after_takeover');
      const m = await cluster.requestLiveMigration(vm.uuid, { host: dest });
      const done = await waitStatus(m.id, ['completed', 'failed', 'error', 'cancelled']);
      expect(done.status).toBe('completed');
      expect(done.last_error).toBeNull();
      expect(await settledIdle(vm.uuid)).toMatchObject({ host: dest, power_state: POWER_STATES.RUNNING });
      expect(await vmOn(vm.host!, vm.uuid)).toBeUndefined();
      await expectOneCopy(cluster, vm.uuid);
    });

    it('a Finish delivered after the source resumed its copy starts nothing on the destination', async () => {
      const vm = await buildServer();
      const dest = vm.host === 'compute-1' ? 'compute-2' : 'compute-1';
      // The transfer fails, and the destination cannot drop its incoming VM: the source resumes, the VM stays there.
      await armFault(cluster.driver(vm.host!).hostDir, 'live_migration_job');
      await armFault(cluster.driver(dest).hostDir, 'live_migration_finish');
      const m = await cluster.requestLiveMigration(vm.uuid, { host: dest });
      expect((await waitStatus(m.id, ['failed', 'error', 'completed'])).status).toBe('failed');
      await settledIdle(vm.uuid);
      expect((await vmOn(dest, vm.uuid))?.power_state).toBe(POWER_STATES.PAUSED);
      // A late (or redelivered) Finish for the same migration.
      await expect(cluster.compute.postLiveMigrationAtDestination(newRequestContext(), dest, m.id, {})).rejects.toThrow(/not post-migrating/);
      expect((await vmOn(dest, vm.uuid))?.power_state).toBe(POWER_STATES.PAUSED);
      expect(await cluster.instance(vm.uuid)).toMatchObject({ host: vm.host, power_state: POWER_STATES.RUNNING });
      expect((await vmOn(vm.host!, vm.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
    });

    it('a database failure as Perform ends does not leave the guest paused on both hosts: recovery asks the destination, then resumes the source', async () => {
      const vm = await buildServer();
      const dest = vm.host === 'compute-1' ? 'compute-2' : 'compute-1';
      // Postgres refuses the write that ends Perform (post-migrating) for this instance, as an outage would.
      await cluster.ds.query(`CREATE OR REPLACE FUNCTION refuse_post_migrating() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.status = 'post-migrating' AND NEW.instance_uuid = '${vm.uuid}' THEN RAISE EXCEPTION 'database unavailable'; END IF;
          RETURN NEW;
        END $$`);
      await cluster.ds.query('CREATE TRIGGER refuse_post_migrating BEFORE UPDATE ON migrations FOR EACH ROW EXECUTE FUNCTION refuse_post_migrating()');
      try {
        const m = await cluster.requestLiveMigration(vm.uuid, { host: dest });
        expect((await waitStatus(m.id, ['failed', 'error', 'completed', 'cancelled'])).status).toBe('failed');
      } finally {
        await cluster.ds.query('DROP TRIGGER IF EXISTS refuse_post_migrating ON migrations');
        await cluster.ds.query('DROP FUNCTION IF EXISTS refuse_post_migrating()');
      }
      expect(await settledIdle(vm.uuid)).toMatchObject({ host: vm.host, power_state: POWER_STATES.RUNNING });
      expect(await vmOn(dest, vm.uuid)).toBeUndefined();
      await expectOneCopy(cluster, vm.uuid);
    });

    it('fails the destination checks asynchronously (shared-storage migration between hosts that share nothing): error, server untouched', async () => {
      const vm = await buildServer();
      const m = await cluster.requestLiveMigration(vm.uuid, { blockMigration: false });
      const done = await waitStatus(m.id, ['error', 'failed', 'completed']);
      expect(done.status).toBe('error');
      expect(done.last_error).toMatch(/do not share instance storage/);
      expect(await settledIdle(vm.uuid)).toMatchObject({ host: vm.host, vm_state: 'active' });
      expect(await claims(vm.uuid)).toEqual([vm.host]);
    });

    it('moves a rescued instance live, and the destination unrescues it from the database alone', async () => {
      const vm = await buildServer();
      await cluster.requestAction(vm.uuid, 'rescue', 'rescuing', (ctx, host) => cluster.compute.rescueInstance(ctx, host, vm.uuid, 'cirros-rescue'));
      const rescued = await cluster.waitFor(vm.uuid, (i) => i.vm_state === 'rescued' && i.task_state === null);
      expect(rescued).toMatchObject({ rescue_image_ref: 'cirros-rescue', pre_rescue_vm_state: 'active' });
      const m = await cluster.requestLiveMigration(vm.uuid);
      expect((await waitStatus(m.id, ['completed', 'failed', 'error'])).status).toBe('completed');
      const moved = await settledIdle(vm.uuid);
      expect(moved).toMatchObject({ vm_state: 'rescued', power_state: POWER_STATES.RUNNING });
      expect(moved.host).not.toBe(vm.host);
      expect(await vmOn(vm.host!, vm.uuid)).toBeUndefined();
      await cluster.requestAction(vm.uuid, 'unrescue', 'unrescuing', (ctx, host) => cluster.compute.unrescueInstance(ctx, host, vm.uuid));
      const back = await cluster.waitFor(vm.uuid, (i) => i.vm_state === 'active' && i.task_state === null);
      expect(back).toMatchObject({ host: moved.host, rescue_image_ref: null, pre_rescue_vm_state: null });
      expect((await vmOn(moved.host!, vm.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
    });

    it('rolls back a migration whose source compute restarted mid-transfer: the guest runs on the source', async () => {
      const vm = await neverConverges();
      const m = await cluster.requestLiveMigration(vm.uuid);
      const running = await waitStatus(m.id, ['running']);
      await cluster.stopCompute(vm.host!);
      await cluster.startCompute(vm.host!);
      expect((await waitStatus(m.id, ['failed', 'completed', 'cancelled'])).status).toBe('failed');
      expect(await settledIdle(vm.uuid)).toMatchObject({ host: vm.host, power_state: POWER_STATES.RUNNING });
      expect((await vmOn(vm.host!, vm.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
      expect(await vmOn(running.dest_compute!, vm.uuid)).toBeUndefined();
      expect(await claims(vm.uuid)).toEqual([vm.host]);
    });

    it.each([
      ['abort', 'cancelled'],
      ['force_complete', 'completed'],
    ] as const)('%s, arriving while Perform is still creating the job, is applied to it (%s)', async (steer, outcome) => {
      const vm = await neverConverges();
      const driver = cluster.driver(vm.host!);
      // The real Perform, held at a gate: the record already says `running`, the job does not exist yet.
      let open!: () => void;
      const gate = new Promise<void>((resolve) => { open = resolve; });
      const perform = driver.liveMigrationPerform.bind(driver);
      driver.liveMigrationPerform = async (...args) => {
        await gate;
        return perform(...args);
      };
      try {
        const m = await cluster.requestLiveMigration(vm.uuid);
        await waitStatus(m.id, ['running']);
        if (steer === 'abort') await cluster.compute.liveMigrationAbort(newRequestContext(), vm.host!, m.id);
        else await cluster.compute.liveMigrationForceComplete(newRequestContext(), vm.host!, m.id);
        open();
        expect((await waitStatus(m.id, ['cancelled', 'completed', 'failed'])).status).toBe(outcome);
        const after = await settledIdle(vm.uuid);
        expect(after.power_state).toBe(POWER_STATES.RUNNING);
        expect(after.host === vm.host).toBe(outcome === 'cancelled');
        expect(await claims(vm.uuid)).toEqual([after.host]);
      } finally {
        open();
        driver.liveMigrationPerform = perform;
      }
    });

    it('a destination whose source went down drops its incoming VM and claim; the source rolls back when it returns', async () => {
      const vm = await neverConverges();
      const m = await cluster.requestLiveMigration(vm.uuid);
      const running = await waitStatus(m.id, ['running']);
      const dest = running.dest_compute!;
      expect(await vmOn(dest, vm.uuid)).toBeDefined();
      await cluster.stopCompute(vm.host!);
      // A stopped source leaves its migration to its own recovery, and the destination waits while the source looks up.
      await new Promise((r) => setTimeout(r, 1500));
      expect(await vmOn(dest, vm.uuid)).toBeDefined();
      expect(await claims(vm.uuid)).toEqual([dest, vm.host].sort());
      // The source's heartbeat is as old as a dead host's.
      await cluster.ds.query(`UPDATE services SET last_seen_up = now() - interval '1 hour' WHERE host = $1`, [vm.host]);
      await cluster.waitUntil(async () => (await vmOn(dest, vm.uuid)) === undefined && (await claims(vm.uuid)).length === 1);
      expect(await claims(vm.uuid)).toEqual([vm.host]);
      // Nothing else changed: the guest is the source's to resume, and only the source can.
      expect((await record(m.id)).status).toBe('running');
      expect(await cluster.instance(vm.uuid)).toMatchObject({ host: vm.host, task_state: 'migrating' });
      const rollbacks = async () => (await getActionWithEvents(cluster.ds, vm.uuid, (running.migrate_data as { request_context: { request_id: string } }).request_context.request_id))!
        .events.filter((e) => e.event === 'compute_rollback_live_migration_at_destination');
      expect((await rollbacks()).map((e) => [e.host, e.result])).toEqual([[dest, 'Success']]);
      // Later passes find nothing left to drop.
      await new Promise((r) => setTimeout(r, 2500));
      expect(await rollbacks()).toHaveLength(1);

      await cluster.startCompute(vm.host!);
      expect((await waitStatus(m.id, ['failed', 'completed', 'cancelled'])).status).toBe('failed');
      expect(await settledIdle(vm.uuid)).toMatchObject({ host: vm.host, power_state: POWER_STATES.RUNNING });
      expect((await vmOn(vm.host!, vm.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
      expect(await claims(vm.uuid)).toEqual([vm.host]);
    });
  });
}

/** The completion timeout's two actions, each on its own cluster. */
export function liveMigrationTimeouts(bus: BusKind): void {
  describe.each([
    ['abort', {}, 'cancelled'],
    ['force_complete (pause)', { liveMigrationTimeoutAction: 'force_complete' as const }, 'completed'],
    ['force_complete (post-copy)', { liveMigrationTimeoutAction: 'force_complete' as const, livePermitPostCopy: true }, 'completed'],
  ])('live migration completion timeout → %s (%s bus)', (_label, overrides, outcome) => {
    let cluster: Cluster;
    beforeAll(async () => {
      cluster = await Cluster.start(bus, 'postgres', { ...FAST, liveMigrationCompletionTimeout: 2, ...overrides });
    }, 60_000);
    afterAll(async () => {
      await cluster?.close();
    });

    it(`a guest that never converges ends ${outcome}`, async () => {
      const tiny = await instanceFlavor(cluster.ds, 'm1.tiny');
      const vm = await cluster.buildServer(tiny, { metadata: { [DIRTY_RATE_METADATA_KEY]: String(2 * 1024) } });
      const m = await cluster.requestLiveMigration(vm.uuid);
      await cluster.waitUntil(async () => ['completed', 'cancelled', 'failed', 'error'].includes((await cluster.ds.getRepository(Migration).findOneByOrFail({ id: m.id })).status), 20_000);
      const done = await cluster.ds.getRepository(Migration).findOneByOrFail({ id: m.id });
      expect(done.status).toBe(outcome);
      const after = await cluster.waitFor(vm.uuid, (i) => i.task_state === null, 20_000);
      expect(after.power_state).toBe(POWER_STATES.RUNNING);
      if (outcome === 'completed') {
        expect(after.host).toBe(done.dest_compute);
        expect(done.phase_timings.perform).toMatchObject('livePermitPostCopy' in overrides ? { postcopy: true } : { paused: true });
      } else {
        expect(after.host).toBe(vm.host);
      }
    });
  });
}

/**
 * A source that cannot reach the destination after Perform keeps its copy paused and says why; when the destination
 * answers again, the periodic recovery settles the move. Its own cluster: calls time out after 3 s.
 */
export function liveMigrationUnreachableDestination(bus: BusKind): void {
  describe(`live migration with the destination unreachable after Perform (${bus} bus)`, () => {
    let cluster: Cluster;
    beforeAll(async () => {
      cluster = await Cluster.start(bus, 'postgres', { ...FAST, liveMigrationCompletionTimeout: 0, rpcTimeoutSeconds: 3 });
    }, 60_000);
    afterAll(async () => {
      await cluster?.close();
    });

    it('keeps the source paused and the record marked until the destination answers, then converges to one copy', async () => {
      const tiny = await instanceFlavor(cluster.ds, 'm1.tiny');
      const vm = await cluster.buildServer(tiny);
      const source = vm.host!;
      const dest = source === 'compute-1' ? 'compute-2' : 'compute-1';
      const record = () => cluster.ds.getRepository(Migration).findOneByOrFail({ id: m.id });
      // Finish resumes the guest there but its reply is lost, and the destination cannot say what it runs.
      await armFault(cluster.driver(dest).hostDir, 'live_migration_finish.after_takeover');
      await armFault(cluster.driver(dest).hostDir, 'guest_presence', { times: 'always' });
      const m = await cluster.requestLiveMigration(vm.uuid, { host: dest });
      await cluster.waitUntil(async () => (await record()).last_error !== null, 20_000);
      const marked = await record();
      expect(marked.status).toBe('post-migrating');
      expect(marked.last_error).toContain(`source kept paused: cannot tell whether ${dest} runs the guest`);
      expect((await cluster.driver(source).getVm(vm.uuid))?.power_state).toBe(POWER_STATES.PAUSED);
      expect((await cluster.driver(dest).getVm(vm.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
      expect(await cluster.instance(vm.uuid)).toMatchObject({ task_state: 'migrating' });

      // The destination goes away altogether: the source's questions time out, and it still touches nothing.
      await cluster.stopCompute(dest);
      await rm(join(cluster.driver(dest).hostDir, FAULTS_FILE), { force: true });
      await new Promise((r) => setTimeout(r, 4000));
      expect((await record()).status).toBe('post-migrating');
      expect((await cluster.driver(source).getVm(vm.uuid))?.power_state).toBe(POWER_STATES.PAUSED);
      expect((await cluster.driver(dest).getVm(vm.uuid))?.power_state).toBe(POWER_STATES.RUNNING);

      await cluster.startCompute(dest);
      await cluster.waitUntil(async () => (await record()).status !== 'post-migrating', 30_000);
      expect((await record()).status).toBe('completed');
      await cluster.waitFor(vm.uuid, (i) => i.task_state === null, 10_000);
      expect(await cluster.driver(source).getVm(vm.uuid)).toBeUndefined();
      expect(await expectOneCopy(cluster, vm.uuid)).toMatchObject({ host: dest });
    }, 60_000);
  });
}
