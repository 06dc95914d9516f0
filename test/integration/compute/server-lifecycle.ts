// Servers end to end through the scheduler and computes: build, power actions, terminate, reschedule, power sync.
// One suite, run on RabbitMQ and on the in-process bus.
import { randomUUID } from 'node:crypto';
import { open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  claimResources, flavorResources, getActionWithEvents, latestInstanceFault, listAllocations, listInstanceFaults, type InstanceFlavor,
} from '@ferry/common/db';
import { apiStatus, guestName, POWER_STATES, type TaskState } from '@ferry/common/domain';
import { unwrapNovaObject } from '@ferry/common/notify';
import { newRequestContext, type NotificationMessage, type RequestContext } from '@ferry/common/rpc';
import { armFault, DISK_FILE, STATE_FILE } from '@ferry/compute/drivers';
import { NOT_ENOUGH_HOSTS } from '@ferry/scheduler';
import { insertBuildingInstance, instanceFlavor, requestSpecFor } from '../scheduler/fixtures';
import { Cluster, type BusKind, type DatabaseKind } from './cluster';

const GIB = 1024 ** 3;

/** Polls read until done holds (or timeoutMs passes) and returns the last value read. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function serverLifecycle(bus: BusKind, database: DatabaseKind = 'postgres'): void {
  describe(`servers end to end (${bus} bus, ${database} database)`, () => {
    let cluster: Cluster;
    let small: InstanceFlavor;

    beforeAll(async () => {
      cluster = await Cluster.start(bus, database);
      small = await instanceFlavor(cluster.ds, 'm1.small');
    }, 60_000);
    afterAll(async () => {
      await cluster?.close();
    });

    /**
     * The action's events, once every one written has its result and (`atLeast`) that many are written: a step's closing
     * write is sent beside its next message, so a later host's events may land before an earlier host's.
     */
    const events = async (uuid: string, requestId: string, atLeast = 0) => {
      const found = await eventually(() => getActionWithEvents(cluster.ds, uuid, requestId),
        (a) => a!.events.length >= atLeast && a!.events.every((e) => e.result !== null));
      return found!.events.map((e) => [e.event, e.host, e.result]);
    };

    /** Creates an instance as the API does and waits until it settles. */
    async function buildServer(spec = requestSpecFor(small)) {
      const row = await insertBuildingInstance(cluster.ds, small);
      const ctx = await cluster.requestBuild([row], spec);
      return { instance: await cluster.settled(row.uuid), ctx };
    }

    it('builds an instance on the best host, with its claim, a VM state file and a sparse root disk', async () => {
      const { instance, ctx } = await buildServer();
      expect(instance).toMatchObject({ vm_state: 'active', task_state: null, power_state: POWER_STATES.RUNNING, host: 'compute-1', node: 'compute-1' });
      expect(instance.launched_at).toBeInstanceOf(Date);
      expect(await listAllocations(cluster.ds, { consumer_uuid: instance.uuid })).toMatchObject([{ host: 'compute-1', vcpus: 1, memory_mb: 2048, disk_gb: 20 }]);

      const dir = cluster.driver('compute-1').vmDir(instance.uuid);
      expect((await readdir(dir)).sort()).toEqual([DISK_FILE, STATE_FILE]);
      expect(await cluster.driver('compute-1').getVm(instance.uuid)).toMatchObject({ name: guestName(instance.uuid), power_state: POWER_STATES.RUNNING, root_gb: 20 });
      const disk = await stat(join(dir, DISK_FILE));
      expect(disk.size).toBe(20 * GIB);
      expect(disk.blocks * 512).toBeLessThan(1024 * 1024);

      expect(await events(instance.uuid, ctx.request_id)).toEqual([
        ['schedule_instances', null, 'Success'],
        ['compute__do_build_and_run_instance', 'compute-1', 'Success'],
      ]);
    });

    it('reports the claims on a host as its usage in compute_nodes', async () => {
      await buildServer();
      const expected = await cluster.ds.query(`SELECT sum(memory_mb)::int AS m, sum(vcpus)::int AS v, sum(disk_gb)::int AS d FROM allocations WHERE host = 'compute-1'`);
      const deadline = Date.now() + 5000;
      let node: { memory_mb_used: number; vcpus_used: number; local_gb_used: number; running_vms: number; availability_zone: string };
      do {
        [node] = await cluster.ds.query(`SELECT memory_mb_used, vcpus_used, local_gb_used, running_vms, availability_zone FROM compute_nodes WHERE host = 'compute-1'`);
        // Usage follows the claims at once; the VM count follows the next resource report.
        if (node.memory_mb_used === expected[0].m && node.running_vms >= 2) break;
        await new Promise((r) => setTimeout(r, 50));
      } while (Date.now() < deadline);
      expect(node).toMatchObject({ memory_mb_used: expected[0].m, vcpus_used: expected[0].v, local_gb_used: expected[0].d, availability_zone: 'nova' });
      expect(node.running_vms).toBeGreaterThanOrEqual(2);
    });

    it('stops, starts, reboots (soft and hard), pauses and unpauses, recording each event', async () => {
      const { instance } = await buildServer();
      const { uuid } = instance;
      const vm = () => cluster.driver('compute-1').getVm(uuid);
      const steps: { action: string; task: TaskState; cast: (ctx: RequestContext, host: string, uuid: string) => Promise<void>; vm_state: string; power: number; event: string }[] = [
        { action: 'stop', task: 'powering-off', cast: cluster.compute.stopInstance.bind(cluster.compute), vm_state: 'stopped', power: POWER_STATES.SHUTDOWN, event: 'compute_stop_instance' },
        { action: 'start', task: 'powering-on', cast: cluster.compute.startInstance.bind(cluster.compute), vm_state: 'active', power: POWER_STATES.RUNNING, event: 'compute_start_instance' },
        { action: 'reboot', task: 'rebooting', cast: (ctx, host, id) => cluster.compute.rebootInstance(ctx, host, id, 'SOFT'), vm_state: 'active', power: POWER_STATES.RUNNING, event: 'compute_reboot_instance' },
        { action: 'pause', task: 'pausing', cast: cluster.compute.pauseInstance.bind(cluster.compute), vm_state: 'paused', power: POWER_STATES.PAUSED, event: 'compute_pause_instance' },
        { action: 'reboot', task: 'rebooting_hard', cast: (ctx, host, id) => cluster.compute.rebootInstance(ctx, host, id, 'HARD'), vm_state: 'active', power: POWER_STATES.RUNNING, event: 'compute_reboot_instance' },
        { action: 'pause', task: 'pausing', cast: cluster.compute.pauseInstance.bind(cluster.compute), vm_state: 'paused', power: POWER_STATES.PAUSED, event: 'compute_pause_instance' },
        { action: 'unpause', task: 'unpausing', cast: cluster.compute.unpauseInstance.bind(cluster.compute), vm_state: 'active', power: POWER_STATES.RUNNING, event: 'compute_unpause_instance' },
      ];
      for (const step of steps) {
        const ctx = await cluster.requestAction(uuid, step.action, step.task, (c, host) => step.cast(c, host, uuid));
        const after = await cluster.settled(uuid);
        expect([step.task, after.vm_state, after.power_state]).toEqual([step.task, step.vm_state, step.power]);
        expect((await vm())?.power_state).toBe(step.power);
        expect(await events(uuid, ctx.request_id)).toEqual([[step.event, 'compute-1', 'Success']]);
      }
    });

    it('regenerates a VM whose definition vanished on start and on hard reboot, from the database and over its disk', async () => {
      const { instance } = await buildServer();
      const { uuid } = instance;
      const driver = cluster.driver('compute-1');
      await writeFile(join(driver.vmDir(uuid), DISK_FILE), 'what the guest wrote', { flag: 'r+' });
      const undefine = () => rm(join(driver.vmDir(uuid), STATE_FILE));

      await cluster.requestAction(uuid, 'stop', 'powering-off', (c, host) => cluster.compute.stopInstance(c, host, uuid));
      expect(await cluster.settled(uuid)).toMatchObject({ vm_state: 'stopped' });
      await undefine();
      let ctx = await cluster.requestAction(uuid, 'start', 'powering-on', (c, host) => cluster.compute.startInstance(c, host, uuid));
      expect(await cluster.settled(uuid)).toMatchObject({ vm_state: 'active', power_state: POWER_STATES.RUNNING, host: 'compute-1' });
      expect(await events(uuid, ctx.request_id)).toEqual([['compute_start_instance', 'compute-1', 'Success']]);
      expect(await driver.getVm(uuid)).toMatchObject({ name: guestName(uuid), power_state: POWER_STATES.RUNNING, vcpus: small.vcpus, memory_mb: small.memory_mb, root_gb: 20 });

      await undefine();
      ctx = await cluster.requestAction(uuid, 'reboot', 'rebooting_hard', (c, host) => cluster.compute.rebootInstance(c, host, uuid, 'HARD'));
      expect(await cluster.settled(uuid)).toMatchObject({ vm_state: 'active', power_state: POWER_STATES.RUNNING });
      expect(await events(uuid, ctx.request_id)).toEqual([['compute_reboot_instance', 'compute-1', 'Success']]);
      const disk = await open(join(driver.vmDir(uuid), DISK_FILE), 'r');
      const head = Buffer.alloc(20);
      await disk.read(head, 0, 20, 0);
      await disk.close();
      expect(head.toString()).toBe('what the guest wrote');
      expect(await latestInstanceFault(cluster.ds, uuid)).toBeUndefined();
    });

    it('puts an instance whose disk is gone in ERROR with a fault on hard reboot, never booting an empty disk', async () => {
      const { instance } = await buildServer();
      const { uuid } = instance;
      const driver = cluster.driver('compute-1');
      await rm(driver.vmDir(uuid), { recursive: true });
      const ctx = await cluster.requestAction(uuid, 'reboot', 'rebooting_hard', (c, host) => cluster.compute.rebootInstance(c, host, uuid, 'HARD'));
      expect(await cluster.settled(uuid)).toMatchObject({ vm_state: 'error', task_state: null, power_state: POWER_STATES.NOSTATE, host: 'compute-1' });
      expect((await latestInstanceFault(cluster.ds, uuid))?.message).toMatch(new RegExp(`Instance ${uuid} has no disk on host compute-1`));
      expect(await events(uuid, ctx.request_id)).toEqual([['compute_reboot_instance', 'compute-1', 'Error']]);
      expect(await driver.getVm(uuid)).toBeUndefined();
      await expect(stat(join(driver.vmDir(uuid), DISK_FILE))).rejects.toMatchObject({ code: 'ENOENT' });
    });

    it('suspends (SUSPENDED, power_state 7) and resumes, recording events and instance.suspend/resume notifications', async () => {
      const seen: NotificationMessage[] = [];
      const tap = await cluster.transport.listenNotifications((m) => void seen.push(m));
      try {
        const { instance } = await buildServer();
        const { uuid } = instance;
        const suspendCtx = await cluster.requestAction(uuid, 'suspend', 'suspending', (c, host) => cluster.compute.suspendInstance(c, host, uuid));
        const suspended = await cluster.settled(uuid);
        expect(suspended).toMatchObject({ vm_state: 'suspended', task_state: null, power_state: POWER_STATES.SUSPENDED });
        expect(suspended.power_state).toBe(7);
        expect(apiStatus(suspended.vm_state, suspended.task_state)).toBe('SUSPENDED');
        expect((await cluster.driver('compute-1').getVm(uuid))?.power_state).toBe(POWER_STATES.SUSPENDED);
        expect(await events(uuid, suspendCtx.request_id)).toEqual([['compute_suspend_instance', 'compute-1', 'Success']]);

        const resumeCtx = await cluster.requestAction(uuid, 'resume', 'resuming', (c, host) => cluster.compute.resumeInstance(c, host, uuid));
        expect(await cluster.settled(uuid)).toMatchObject({ vm_state: 'active', task_state: null, power_state: POWER_STATES.RUNNING });
        expect(await cluster.driver('compute-1').getVm(uuid)).toMatchObject({ power_state: POWER_STATES.RUNNING });
        expect(await events(uuid, resumeCtx.request_id)).toEqual([['compute_resume_instance', 'compute-1', 'Success']]);

        const about = (m: NotificationMessage) => (unwrapNovaObject(m.payload) as { uuid?: string }).uuid === uuid;
        const mine = await eventually(async () => seen.filter(about), (found) => found.length >= 4);
        expect(mine.map((m) => [m.event_type, m.publisher_id])).toEqual([
          ['instance.suspend.start', 'ferry-compute:compute-1'], ['instance.suspend.end', 'ferry-compute:compute-1'],
          ['instance.resume.start', 'ferry-compute:compute-1'], ['instance.resume.end', 'ferry-compute:compute-1'],
        ]);
      } finally {
        await tap.stop();
      }
    });

    it('ignores a repeated message for work already done', async () => {
      const { instance } = await buildServer();
      const ctx = await cluster.requestAction(instance.uuid, 'stop', 'powering-off', (c, host) => cluster.compute.stopInstance(c, host, instance.uuid));
      await cluster.settled(instance.uuid);
      await cluster.compute.stopInstance(ctx, 'compute-1', instance.uuid);
      await cluster.scheduler.scheduleAndBuildInstances(ctx, [instance.uuid], requestSpecFor(small));
      await cluster.compute.buildAndRunInstance(ctx, 'compute-1', instance.uuid, requestSpecFor(small), []);
      await new Promise((r) => setTimeout(r, 300));
      expect(await cluster.instance(instance.uuid)).toMatchObject({ vm_state: 'stopped', task_state: null, host: 'compute-1' });
      expect(await events(instance.uuid, ctx.request_id)).toEqual([['compute_stop_instance', 'compute-1', 'Success']]);
      expect(await listAllocations(cluster.ds, { consumer_uuid: instance.uuid })).toHaveLength(1);
    });

    it('builds each instance once when the scheduling message arrives twice', async () => {
      const row = await insertBuildingInstance(cluster.ds, small);
      const ctx = await cluster.requestBuild([row], requestSpecFor(small));
      await cluster.scheduler.scheduleAndBuildInstances(ctx, [row.uuid], requestSpecFor(small));
      const instance = await cluster.settled(row.uuid);
      await new Promise((r) => setTimeout(r, 300));
      expect(instance.vm_state).toBe('active');
      expect(await listAllocations(cluster.ds, { consumer_uuid: row.uuid })).toHaveLength(1);
      const vms = await Promise.all(['compute-1', 'compute-2', 'compute-3'].map((h) => cluster.driver(h).getVm(row.uuid)));
      expect(vms.filter(Boolean)).toHaveLength(1);
    });

    it('builds every instance of a multi-create request', async () => {
      const rows = await Promise.all([0, 1, 2].map(() => insertBuildingInstance(cluster.ds, small)));
      await cluster.requestBuild(rows, requestSpecFor(small));
      for (const r of rows) expect(await cluster.settled(r.uuid)).toMatchObject({ vm_state: 'active', power_state: POWER_STATES.RUNNING });
    });

    it('terminates: VM and disk gone, claim freed, instance soft-deleted', async () => {
      const { instance } = await buildServer();
      const dir = cluster.driver('compute-1').vmDir(instance.uuid);
      const ctx = await cluster.requestAction(instance.uuid, 'delete', 'deleting', (c, host) => cluster.compute.terminateInstance(c, host, instance.uuid));
      const gone = await cluster.waitFor(instance.uuid, (i) => i.deleted_at !== null);
      expect(gone).toMatchObject({ vm_state: 'deleted', task_state: null, power_state: POWER_STATES.NOSTATE });
      await expect(stat(dir)).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await listAllocations(cluster.ds, { consumer_uuid: instance.uuid })).toEqual([]);
      expect(await events(instance.uuid, ctx.request_id)).toEqual([['compute_terminate_instance', 'compute-1', 'Success']]);
      await cluster.compute.terminateInstance(ctx, 'compute-1', instance.uuid);
      await new Promise((r) => setTimeout(r, 200));
      expect(await events(instance.uuid, ctx.request_id)).toHaveLength(1);
    });

    it('reschedules a build whose spawn fails to an alternate host, leaving nothing behind on the first', async () => {
      await armFault(cluster.driver('compute-1').hostDir, 'spawn.after_disk', { message: 'disk image is corrupt' });
      const row = await insertBuildingInstance(cluster.ds, small);
      const ctx = await cluster.requestBuild([row], requestSpecFor(small));
      const instance = await cluster.settled(row.uuid);
      expect(instance).toMatchObject({ vm_state: 'active', host: 'compute-2', power_state: POWER_STATES.RUNNING });
      expect((await listAllocations(cluster.ds, { consumer_uuid: row.uuid })).map((a) => a.host)).toEqual(['compute-2']);
      await expect(stat(cluster.driver('compute-1').vmDir(row.uuid))).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await listInstanceFaults(cluster.ds, row.uuid)).toMatchObject([{ host: 'compute-1', code: 500, message: 'disk image is corrupt (host compute-1)' }]);
      expect(await events(row.uuid, ctx.request_id, 3)).toEqual([
        ['schedule_instances', null, 'Success'],
        ['compute__do_build_and_run_instance', 'compute-1', 'Success'],
        ['compute__do_build_and_run_instance', 'compute-2', 'Success'],
      ]);
    });

    it('puts the instance in ERROR with the driver\'s message when the spawn fails on every host tried', async () => {
      for (const host of ['compute-1', 'compute-2', 'compute-3']) await armFault(cluster.driver(host).hostDir, 'spawn', { message: `hypervisor on ${host} refused` });
      const row = await insertBuildingInstance(cluster.ds, small);
      const ctx = await cluster.requestBuild([row], requestSpecFor(small));
      const instance = await cluster.settled(row.uuid);
      expect(instance).toMatchObject({ vm_state: 'error', task_state: null, power_state: POWER_STATES.NOSTATE });
      expect(await listAllocations(cluster.ds, { consumer_uuid: row.uuid })).toEqual([]);
      expect((await listInstanceFaults(cluster.ds, row.uuid)).map((f) => f.host)).toEqual(['compute-3', 'compute-2', 'compute-1']);
      expect((await latestInstanceFault(cluster.ds, row.uuid))?.message).toBe('hypervisor on compute-3 refused (host compute-3)');
      await events(row.uuid, ctx.request_id);
      const action = await eventually(() => getActionWithEvents(cluster.ds, row.uuid, ctx.request_id), (a) => a?.action.message === 'Error');
      expect(action!.action.message).toBe('Error');
      expect(action!.events.map((e) => [e.host, e.result])).toEqual([[null, 'Success'], ['compute-1', 'Success'], ['compute-2', 'Success'], ['compute-3', 'Error']]);
      for (const host of ['compute-1', 'compute-2', 'compute-3']) expect(await cluster.driver(host).getVm(row.uuid)).toBeUndefined();
    });

    it('puts the instance in ERROR with a NoValidHost fault when no host fits', async () => {
      const row = await insertBuildingInstance(cluster.ds, small);
      const ctx = await cluster.requestBuild([row], requestSpecFor(small, { availability_zone: 'nowhere' }));
      const instance = await cluster.settled(row.uuid);
      expect(instance).toMatchObject({ vm_state: 'error', task_state: null, host: null });
      expect(await latestInstanceFault(cluster.ds, row.uuid)).toMatchObject({ code: 500, message: `No valid host was found. ${NOT_ENOUGH_HOSTS}` });
      expect(await events(row.uuid, ctx.request_id)).toEqual([['schedule_instances', null, 'Error']]);
      expect(await listAllocations(cluster.ds, { consumer_uuid: row.uuid })).toEqual([]);
    });

    it('syncs a VM paused behind Ferry\'s back while the compute runs', async () => {
      const { instance } = await buildServer();
      await cluster.setVmStateBehindFerry('compute-1', instance.uuid, 'paused');
      const synced = await cluster.waitFor(instance.uuid, (i) => i.power_state === POWER_STATES.PAUSED, 5000);
      expect(synced).toMatchObject({ vm_state: 'paused', task_state: null });
    });

    it('syncs a VM suspended, then resumed, behind Ferry\'s back', async () => {
      const { instance } = await buildServer();
      await cluster.setVmStateBehindFerry('compute-1', instance.uuid, 'suspended');
      const synced = await cluster.waitFor(instance.uuid, (i) => i.power_state === POWER_STATES.SUSPENDED, 5000);
      expect(synced).toMatchObject({ vm_state: 'suspended', task_state: null });
      await cluster.setVmStateBehindFerry('compute-1', instance.uuid, 'running');
      expect(await cluster.waitFor(instance.uuid, (i) => i.power_state === POWER_STATES.RUNNING, 5000)).toMatchObject({ vm_state: 'active' });
    });

    it('a restarted compute keeps its VMs, and its power sync fixes what changed while it was down', async () => {
      const { instance: shut } = await buildServer();
      const { instance: kept } = await buildServer();
      const { instance: lost } = await buildServer();
      await cluster.stopCompute('compute-1');
      await cluster.setVmStateBehindFerry('compute-1', shut.uuid, 'shutdown');
      await rm(cluster.driver('compute-1').vmDir(lost.uuid), { recursive: true });
      await cluster.startCompute('compute-1');

      // The sync runs once at startup, before the compute takes messages.
      expect(await cluster.instance(shut.uuid)).toMatchObject({ vm_state: 'stopped', power_state: POWER_STATES.SHUTDOWN, task_state: null });
      expect(await cluster.instance(kept.uuid)).toMatchObject({ vm_state: 'active', power_state: POWER_STATES.RUNNING });
      expect(await cluster.instance(lost.uuid)).toMatchObject({ vm_state: 'active', power_state: POWER_STATES.NOSTATE });
      expect((await cluster.driver('compute-1').getVm(kept.uuid))?.power_state).toBe(POWER_STATES.RUNNING);

      // And the restarted compute serves requests for the VMs it kept.
      await cluster.requestAction(kept.uuid, 'stop', 'powering-off', (c, host) => cluster.compute.stopInstance(c, host, kept.uuid));
      expect(await cluster.settled(kept.uuid)).toMatchObject({ vm_state: 'stopped', power_state: POWER_STATES.SHUTDOWN });
    });

    it('never acts on an instance that is mid-task', async () => {
      const { instance } = await buildServer();
      await cluster.ds.query(`UPDATE instances SET task_state = 'resize_prep' WHERE uuid = $1`, [instance.uuid]);
      await cluster.setVmStateBehindFerry('compute-1', instance.uuid, 'shutdown');
      await new Promise((r) => setTimeout(r, 2500));
      expect(await cluster.instance(instance.uuid)).toMatchObject({ vm_state: 'active', power_state: POWER_STATES.RUNNING, task_state: 'resize_prep' });
    });

    it('passes a redelivered build on to the host the instance was handed over to', async () => {
      // As if compute-1 rescheduled the build to compute-2 (claim, hand-over CAS) and died before its cast went out.
      const row = await insertBuildingInstance(cluster.ds, small, { host: 'compute-2' });
      expect(await claimResources(cluster.ds, { consumer_uuid: row.uuid, host: 'compute-2', ...flavorResources(small) })).toBe(true);
      await cluster.compute.buildAndRunInstance(newRequestContext(), 'compute-1', row.uuid, requestSpecFor(small, { num_attempts: 1 }), ['compute-2', 'compute-3']);
      expect(await cluster.settled(row.uuid)).toMatchObject({ vm_state: 'active', host: 'compute-2' });
      expect(await cluster.driver('compute-1').getVm(row.uuid)).toBeUndefined();
    });

    it('ignores a build for an instance that does not exist', async () => {
      const ghost = randomUUID();
      await cluster.compute.buildAndRunInstance(newRequestContext(), 'compute-2', ghost, requestSpecFor(small), []);
      await new Promise((r) => setTimeout(r, 200));
      expect(await cluster.driver('compute-2').getVm(ghost)).toBeUndefined();
    });
  });
}
