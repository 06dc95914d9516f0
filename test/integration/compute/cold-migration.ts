// Cold migration and resize through the scheduler and fake-driver computes: the happy paths, confirm and revert,
// a stopped instance, failures at each side, restarts mid-copy and after power-off, auto-confirm, repeated messages.
import { randomBytes } from 'node:crypto';
import { open, rm, stat } from 'node:fs/promises';
import {
  advanceMigration, getActionWithEvents, latestInstanceFault, listAllocations, listComputeNodes, Migration, type Instance, type InstanceFlavor,
} from '@ferry/common/db';
import { POWER_STATES } from '@ferry/common/domain';
import { newRequestContext } from '@ferry/common/rpc';
import { armFault } from '@ferry/compute/drivers';
import { allocatedRanges, LocalTransfer, totalLength, type CopyRequest, type CopyResult, type Transfer } from '@ferry/compute/transfer';
import { instanceFlavor, requestSpecFor } from '../scheduler/fixtures';
import { Cluster, type BusKind, type DatabaseKind } from './cluster';
import { sha256 } from '../../support/disk-hash';

const MIB = 1024 * 1024;

const exists = (path: string) => stat(path).then(() => true, () => false);


/** Writes `count` random 1 MiB blocks at spread offsets: a disk with data on it, not only holes. */
async function fillDisk(path: string, count: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const size = (await handle.stat()).size;
    for (let i = 0; i < count; i++) await handle.write(randomBytes(MIB), 0, MIB, Math.floor((size / count) * i / MIB) * MIB);
  } finally {
    await handle.close();
  }
}

/** A real LocalTransfer that holds chosen copies at a gate until the test opens it (or the copy is cancelled). */
export class GatedTransfer implements Transfer {
  readonly kind = 'gated-local';
  private readonly inner = new LocalTransfer();
  private release: (() => void) | undefined;
  private readonly gate = new Promise<void>((resolve) => { this.release = resolve; });
  /** Resolves when a copy reached the gate. */
  readonly reached: Promise<CopyRequest>;
  private arrived!: (req: CopyRequest) => void;

  /** `lingerMs`: how long each copy that is not held takes at least (so a running guest writes meanwhile). */
  constructor(private readonly holds: (req: CopyRequest) => boolean, private readonly lingerMs = 0) {
    this.reached = new Promise((resolve) => { this.arrived = resolve; });
  }

  async copy(req: CopyRequest): Promise<CopyResult> {
    if (!this.holds(req) && this.lingerMs > 0) await new Promise((r) => setTimeout(r, this.lingerMs));
    if (this.holds(req)) {
      this.arrived(req);
      await new Promise<void>((resolve, reject) => {
        void this.gate.then(resolve);
        req.signal?.addEventListener('abort', () => reject(new Error('copy cancelled at the gate')), { once: true });
      });
    }
    return this.inner.copy(req);
  }

  open(): void {
    this.release?.();
  }
}

export function coldMigration(bus: BusKind, database: DatabaseKind = 'postgres'): void {
  describe(`cold migration and resize (${bus} bus, ${database} database)`, () => {
    let cluster: Cluster;
    let tiny: InstanceFlavor;
    let small: InstanceFlavor;

    beforeAll(async () => {
      // The guest writes 8 MiB/s while its disk is copied away: pass 2 has real work.
      cluster = await Cluster.start(bus, database, { fakeGuestWriteRate: 8 * MIB });
      tiny = await instanceFlavor(cluster.ds, 'm1.tiny');
      small = await instanceFlavor(cluster.ds, 'm1.small');
    }, 60_000);
    afterAll(async () => {
      await cluster?.close();
    });

    async function buildServer(flavor = tiny): Promise<Instance> {
      const instance = await cluster.buildServer(flavor);
      await fillDisk(cluster.driver(instance.host!).diskPath(instance.uuid), 16);
      return instance;
    }

    const migrationOf = (uuid: string) => cluster.ds.getRepository(Migration).findOneOrFail({ where: { instance_uuid: uuid }, order: { id: 'DESC' } });
    const claims = async (uuid: string) => (await listAllocations(cluster.ds, { consumer_uuid: uuid })).map((a) => [a.host, a.memory_mb, a.disk_gb]).sort();
    const awaitResized = (uuid: string) => cluster.waitFor(uuid, (i) => i.vm_state === 'resized' && i.task_state === null, 30_000);
    const vmOn = (host: string, uuid: string) => cluster.driver(host).getVm(uuid);

    /** What the API does for confirmResize and revertResize. */
    async function confirm(uuid: string): Promise<void> {
      const m = await migrationOf(uuid);
      expect(await advanceMigration(cluster.ds, m.id, ['finished'], 'confirming', 'api')).toBe(true);
      await cluster.compute.confirmResize(newRequestContext(), m.source_compute!, m.id);
    }
    async function revert(uuid: string): Promise<void> {
      const m = await migrationOf(uuid);
      await cluster.requestAction(uuid, 'revertResize', 'resize_reverting', async () => undefined);
      expect(await advanceMigration(cluster.ds, m.id, ['finished'], 'reverting', 'api')).toBe(true);
      await cluster.compute.revertResize(newRequestContext(), m.dest_compute!, m.id);
    }

    it('migrates a running instance: two-pass copy, checksums equal, VERIFY_RESIZE with claims on both hosts, then confirm', async () => {
      const vm = await buildServer();
      const source = vm.host!;
      const ctx = await cluster.requestMove(vm.uuid);
      const moved = await awaitResized(vm.uuid);
      const m = await migrationOf(vm.uuid);
      expect(moved.host).not.toBe(source);
      expect(m).toMatchObject({ status: 'finished', migration_type: 'migration', source_compute: source, dest_compute: moved.host });
      // disk_total counts what moved, not the 1 GiB disk: pass 1 the regions the disk held (16 MiB of data, and what the
      // guest wrote before the copy began), pass 2 the regions written during pass 1.
      const pass1 = m.phase_timings.copy_pass_1 as { bytes_allocated: number };
      const pass2 = m.phase_timings.copy_pass_2 as { bytes_planned: number };
      expect(m.disk_total).toBe(pass1.bytes_allocated + pass2.bytes_planned);
      expect(pass1.bytes_allocated).toBeGreaterThanOrEqual(16 * MIB);
      expect(pass1.bytes_allocated).toBeLessThanOrEqual(totalLength((await allocatedRanges(cluster.driver(source).diskPath(vm.uuid)))!));
      expect(m.disk_total).toBeLessThan(256 * MIB);
      expect(m.disk_remaining).toBe(0);
      expect(m.phase_timings).toEqual(expect.objectContaining({ copy_pass_1: expect.anything(), copy_pass_2: expect.anything(), guest_stopped: expect.anything(), guest_started: expect.anything() }));
      // The guest wrote during pass 1; pass 2 copied exactly that, so the copies are byte-identical.
      expect((m.phase_timings.copy_pass_2 as { ranges: number }).ranges).toBeGreaterThan(0);
      const src = cluster.driver(source).diskPath(vm.uuid);
      const dst = cluster.driver(moved.host!).diskPath(vm.uuid);
      expect(await sha256(dst, GIB)).toBe(await sha256(src, GIB));
      // The copy is as sparse as the source: it holds about what moved, not the disk's 1 GiB.
      expect((await stat(dst)).blocks * 512).toBeLessThan(256 * MIB);
      expect((await vmOn(moved.host!, vm.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
      expect((await vmOn(source, vm.uuid))?.power_state).toBe(POWER_STATES.SHUTDOWN);
      expect(await claims(vm.uuid)).toEqual([[moved.host, 512, 1], [source, 512, 1]].sort());
      const action = await getActionWithEvents(cluster.ds, vm.uuid, ctx.request_id);
      expect(action!.events.map((e) => [e.event, e.result])).toEqual(expect.arrayContaining([
        ['conductor_migrate_server', 'Success'], ['compute_prep_resize', 'Success'], ['compute_resize_instance', 'Success'], ['compute_finish_resize', 'Success'],
      ]));

      await confirm(vm.uuid);
      const done = await cluster.waitFor(vm.uuid, (i) => i.vm_state === 'active', 10_000);
      expect(done).toMatchObject({ host: moved.host, task_state: null, old_flavor: null, new_flavor: null, power_state: POWER_STATES.RUNNING });
      expect(await vmOn(source, vm.uuid)).toBeUndefined();
      expect((await migrationOf(vm.uuid)).status).toBe('confirmed');
      expect(await claims(vm.uuid)).toEqual([[moved.host, 512, 1]]);
    }, 60_000);

    it('resizes to a bigger flavor and reverts: old flavor, source host, source copy running, destination copy and claim gone', async () => {
      const vm = await buildServer();
      const source = vm.host!;
      await cluster.requestMove(vm.uuid, { newFlavor: small });
      const resized = await awaitResized(vm.uuid);
      expect(resized.flavor.name).toBe('m1.small');
      expect(resized.old_flavor?.name).toBe('m1.tiny');
      expect((await stat(cluster.driver(resized.host!).diskPath(vm.uuid))).size).toBe(20 * GIB);
      expect((await vmOn(resized.host!, vm.uuid))).toMatchObject({ memory_mb: 2048, root_gb: 20 });
      expect(await claims(vm.uuid)).toEqual([[resized.host, 2048, 20], [source, 512, 1]].sort());

      await revert(vm.uuid);
      const back = await cluster.waitFor(vm.uuid, (i) => i.task_state === null && i.vm_state === 'active', 10_000);
      expect(back).toMatchObject({ host: source, power_state: POWER_STATES.RUNNING, old_flavor: null, new_flavor: null });
      expect(back.flavor.name).toBe('m1.tiny');
      expect((await vmOn(source, vm.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
      expect(await vmOn(resized.host!, vm.uuid)).toBeUndefined();
      expect((await migrationOf(vm.uuid)).status).toBe('reverted');
      expect(await claims(vm.uuid)).toEqual([[source, 512, 1]]);
    }, 60_000);

    // A second session's lock on the events table needs a server that runs sessions side by side: Postgres only.
    (database === 'postgres' ? it : it.skip)('moves and confirms while no action event can be written: no step waits for its event, none skips the next step', async () => {
      const vm = await buildServer();
      const blocker = cluster.ds.createQueryRunner();
      await blocker.startTransaction();
      let ctx: Awaited<ReturnType<Cluster['requestMove']>>;
      try {
        await blocker.query('LOCK TABLE instance_action_events IN SHARE ROW EXCLUSIVE MODE');
        ctx = await cluster.requestMove(vm.uuid);
        await awaitResized(vm.uuid);
        // The source's copy step still waits for its event's row: the confirm that follows must run all the same.
        await confirm(vm.uuid);
        await cluster.waitUntil(async () => (await migrationOf(vm.uuid)).status === 'confirmed', 15_000);
        expect(await cluster.instance(vm.uuid)).toMatchObject({ vm_state: 'active', task_state: null });
      } finally {
        await blocker.rollbackTransaction();
        await blocker.release();
      }
      // Held back, not lost: each step's event lands once the table is free.
      await cluster.waitUntil(async () => (await getActionWithEvents(cluster.ds, vm.uuid, ctx.request_id))!.events.length >= 4, 10_000);
      expect((await getActionWithEvents(cluster.ds, vm.uuid, ctx.request_id))!.events.map((e) => [e.event, e.result])).toEqual(expect.arrayContaining([
        ['conductor_migrate_server', 'Success'], ['compute_prep_resize', 'Success'], ['compute_resize_instance', 'Success'], ['compute_finish_resize', 'Success'],
      ]));
    });

    it('keeps a stopped instance stopped through the move, the revert and the confirm', async () => {
      const vm = await buildServer();
      await cluster.requestAction(vm.uuid, 'stop', 'powering-off', (ctx, host) => cluster.compute.stopInstance(ctx, host, vm.uuid));
      await cluster.waitFor(vm.uuid, (i) => i.vm_state === 'stopped' && i.task_state === null);
      await cluster.requestMove(vm.uuid);
      const moved = await awaitResized(vm.uuid);
      expect(moved.power_state).toBe(POWER_STATES.SHUTDOWN);
      expect((await vmOn(moved.host!, vm.uuid))?.power_state).toBe(POWER_STATES.SHUTDOWN);
      // Stopped before the move: nothing ran during the copy, so one copy while off and no second pass.
      expect(Object.keys((await migrationOf(vm.uuid)).phase_timings)).toContain('copy_while_off');
      await revert(vm.uuid);
      const back = await cluster.waitFor(vm.uuid, (i) => i.task_state === null && i.vm_state === 'stopped', 10_000);
      expect(back).toMatchObject({ host: vm.host, power_state: POWER_STATES.SHUTDOWN });

      await cluster.requestMove(vm.uuid);
      await awaitResized(vm.uuid);
      await confirm(vm.uuid);
      const confirmed = await cluster.waitFor(vm.uuid, (i) => i.vm_state === 'stopped' && i.old_flavor === null, 10_000);
      expect(confirmed.power_state).toBe(POWER_STATES.SHUTDOWN);
    }, 60_000);

    it('migrates to the host an admin names', async () => {
      const vm = await buildServer();
      const target = ['compute-1', 'compute-2', 'compute-3'].filter((h) => h !== vm.host).pop()!;
      await cluster.requestMove(vm.uuid, { host: target });
      expect((await awaitResized(vm.uuid)).host).toBe(target);
      await confirm(vm.uuid);
      await cluster.waitFor(vm.uuid, (i) => i.vm_state === 'active');
    }, 60_000);

    it('gives up without touching the instance when no host fits (NoValidHost): no record, a fault, no task', async () => {
      const vm = await buildServer();
      await cluster.requestMove(vm.uuid, { host: vm.host! });
      const after = await cluster.waitFor(vm.uuid, (i) => i.task_state === null);
      expect(after).toMatchObject({ vm_state: 'active', host: vm.host, new_flavor: null });
      expect((await latestInstanceFault(cluster.ds, vm.uuid))?.message).toMatch(/No valid host/);
      expect(await cluster.ds.getRepository(Migration).countBy({ instance_uuid: vm.uuid })).toBe(0);
      expect(await claims(vm.uuid)).toEqual([[vm.host, 512, 1]]);
    });

    it('reschedules to an alternate when the destination cannot prepare, leaving nothing on the first choice', async () => {
      const vm = await buildServer();
      const firstChoice = vm.host === 'compute-1' ? 'compute-2' : 'compute-1';
      await armFault(cluster.driver(firstChoice).hostDir, 'prepare_incoming');
      await cluster.requestMove(vm.uuid);
      const moved = await awaitResized(vm.uuid);
      expect([vm.host, firstChoice]).not.toContain(moved.host);
      expect(await claims(vm.uuid)).toEqual([[moved.host, 512, 1], [vm.host, 512, 1]].sort());
      await confirm(vm.uuid);
      await cluster.waitFor(vm.uuid, (i) => i.vm_state === 'active');
    }, 60_000);

    it('rolls back to the source when the source cannot power off: running there, record in error, destination claim and copy gone', async () => {
      const vm = await buildServer();
      await armFault(cluster.driver(vm.host!).hostDir, 'power_off');
      await cluster.requestMove(vm.uuid);
      const after = await cluster.waitFor(vm.uuid, (i) => i.task_state === null, 30_000);
      const m = await migrationOf(vm.uuid);
      expect(after).toMatchObject({ vm_state: 'active', host: vm.host, power_state: POWER_STATES.RUNNING, new_flavor: null });
      expect(m.status).toBe('error');
      expect(m.last_error).toMatch(/injected fault at power_off/);
      expect((await latestInstanceFault(cluster.ds, vm.uuid))?.message).toMatch(/power_off/);
      expect(await claims(vm.uuid)).toEqual([[vm.host, 512, 1]]);
      // The destination drops the partial copy when the cleanup cast reaches it.
      await cluster.waitUntil(async () => !(await exists(cluster.driver(m.dest_compute!).vmDir(vm.uuid))));
    }, 60_000);

    it('refuses to confirm when the destination no longer has the instance: the source copy is kept, the instance in ERROR', async () => {
      const vm = await buildServer();
      const source = vm.host!;
      await cluster.requestMove(vm.uuid);
      const moved = await awaitResized(vm.uuid);
      const dest = moved.host!;
      // The destination's VM disappears behind Ferry's back.
      await rm(cluster.driver(dest).vmDir(vm.uuid), { recursive: true, force: true });
      await confirm(vm.uuid);
      await cluster.waitUntil(async () => (await migrationOf(vm.uuid)).status !== 'confirming');
      const m = await migrationOf(vm.uuid);
      expect(m.status).toBe('error');
      expect(m.last_error).toContain(`confirm refused: ${dest} has no copy of the instance`);
      expect((await vmOn(source, vm.uuid))?.power_state).toBe(POWER_STATES.SHUTDOWN);
      expect(await exists(cluster.driver(source).diskPath(vm.uuid))).toBe(true);
      expect(await cluster.instance(vm.uuid)).toMatchObject({ vm_state: 'error', task_state: null });
      const fault = await latestInstanceFault(cluster.ds, vm.uuid);
      expect(fault?.message).toContain(source);
      expect(fault?.message).toContain(dest);
      expect(await claims(vm.uuid)).toEqual([[dest, 512, 1], [source, 512, 1]].sort());
    }, 60_000);

    it('refuses to revert when the source no longer has the instance: the destination copy keeps running, the instance in ERROR', async () => {
      const vm = await buildServer();
      const source = vm.host!;
      await cluster.requestMove(vm.uuid);
      const moved = await awaitResized(vm.uuid);
      const dest = moved.host!;
      await rm(cluster.driver(source).vmDir(vm.uuid), { recursive: true, force: true });
      await revert(vm.uuid);
      await cluster.waitUntil(async () => (await migrationOf(vm.uuid)).status !== 'reverting');
      const m = await migrationOf(vm.uuid);
      expect(m.status).toBe('error');
      expect(m.last_error).toContain(`revert refused: ${source} has no copy of the instance`);
      expect((await vmOn(dest, vm.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
      expect(await cluster.instance(vm.uuid)).toMatchObject({ vm_state: 'error', task_state: null, host: dest });
      expect((await latestInstanceFault(cluster.ds, vm.uuid))?.message).toContain(source);
      expect(await claims(vm.uuid)).toEqual([[dest, 512, 1], [source, 512, 1]].sort());
    }, 60_000);

    it('rolls back to the source copy when the destination cannot start the guest', async () => {
      const vm = await buildServer();
      const firstChoice = vm.host === 'compute-1' ? 'compute-2' : 'compute-1';
      await armFault(cluster.driver(firstChoice).hostDir, 'finish_incoming');
      await cluster.requestMove(vm.uuid, { host: firstChoice });
      const after = await cluster.waitFor(vm.uuid, (i) => i.task_state === null, 30_000);
      expect(after).toMatchObject({ vm_state: 'active', host: vm.host, power_state: POWER_STATES.RUNNING, old_flavor: null });
      expect((await vmOn(vm.host!, vm.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
      expect(await vmOn(firstChoice, vm.uuid)).toBeUndefined();
      expect((await migrationOf(vm.uuid)).status).toBe('error');
      expect(await claims(vm.uuid)).toEqual([[vm.host, 512, 1]]);
    }, 60_000);

    it.each([
      ['during pass 1 (guest still running)', (req: CopyRequest) => req.ranges === undefined],
      ['after power-off, before pass 2', (req: CopyRequest) => req.ranges !== undefined],
    ])('resumes a copy when the source compute restarts %s; the copies still match', async (_label, holds) => {
      const vm = await buildServer();
      const source = vm.host!;
      await cluster.stopCompute(source);
      const gated = new GatedTransfer(holds);
      await cluster.startCompute(source, { transfer: gated });
      await cluster.requestMove(vm.uuid);
      await gated.reached;
      await cluster.stopCompute(source);
      expect((await migrationOf(vm.uuid)).status).toBe('migrating');
      await cluster.startCompute(source);
      const moved = await awaitResized(vm.uuid);
      const m = await migrationOf(vm.uuid);
      expect(m.status).toBe('finished');
      expect(await sha256(cluster.driver(moved.host!).diskPath(vm.uuid), GIB)).toBe(await sha256(cluster.driver(source).diskPath(vm.uuid), GIB));
      expect(await claims(vm.uuid)).toEqual([[moved.host, 512, 1], [source, 512, 1]].sort());
      await confirm(vm.uuid);
      await cluster.waitFor(vm.uuid, (i) => i.vm_state === 'active');
    }, 60_000);

    it('treats repeated messages for finished steps as no-ops', async () => {
      const vm = await buildServer();
      await cluster.requestMove(vm.uuid);
      const moved = await awaitResized(vm.uuid);
      const m = await migrationOf(vm.uuid);
      const ctx = newRequestContext();
      await cluster.compute.prepResize(ctx, moved.host!, { instance_uuid: vm.uuid, migration_type: 'migration', new_flavor: tiny, request_spec: requestSpecFor(tiny), alternates: [] });
      await cluster.compute.resizeInstance(ctx, vm.host!, m.id);
      await cluster.compute.finishResize(ctx, moved.host!, m.id);
      await cluster.compute.confirmResize(ctx, vm.host!, m.id);
      await cluster.compute.revertResize(ctx, moved.host!, m.id);
      await new Promise((r) => setTimeout(r, 500));
      expect(await cluster.instance(vm.uuid)).toMatchObject({ vm_state: 'resized', host: moved.host, task_state: null });
      expect(await cluster.ds.getRepository(Migration).countBy({ instance_uuid: vm.uuid })).toBe(1);
      expect((await migrationOf(vm.uuid)).status).toBe('finished');
      expect((await vmOn(vm.host!, vm.uuid))?.power_state).toBe(POWER_STATES.SHUTDOWN);
      await confirm(vm.uuid);
      await cluster.waitFor(vm.uuid, (i) => i.vm_state === 'active');
    }, 60_000);

    it('deleting a server in VERIFY_RESIZE confirms the move, so neither copy nor claim is left behind', async () => {
      const vm = await buildServer();
      await cluster.requestMove(vm.uuid);
      const moved = await awaitResized(vm.uuid);
      await cluster.requestAction(vm.uuid, 'delete', 'deleting', (ctx, host) => cluster.compute.terminateInstance(ctx, host, vm.uuid));
      await cluster.waitUntil(async () => (await migrationOf(vm.uuid)).status === 'confirmed');
      await cluster.waitUntil(async () => (await vmOn(vm.host!, vm.uuid)) === undefined);
      expect(await vmOn(moved.host!, vm.uuid)).toBeUndefined();
      expect(await claims(vm.uuid)).toEqual([]);
      expect((await cluster.instance(vm.uuid)).deleted_at).not.toBeNull();
    }, 60_000);

    it('reports usage that follows the instance: a confirm leaves only the new flavor on the destination, a revert only the kept one', async () => {
      type Usage = { vcpus: number; memory_mb: number; disk_gb: number; vms: number };
      const usage = async () => new Map<string, Usage>((await listComputeNodes(cluster.ds)).map((n) => [n.host, {
        vcpus: n.vcpus_used, memory_mb: n.memory_mb_used, disk_gb: n.local_gb_used, vms: n.running_vms,
      }]));
      const plus = (f: InstanceFlavor, sign: 1 | -1, vms: number): Usage => ({ vcpus: sign * f.vcpus, memory_mb: sign * f.memory_mb, disk_gb: sign * f.root_gb, vms });
      const zero: Usage = { vcpus: 0, memory_mb: 0, disk_gb: 0, vms: 0 };
      /** Waits for the resource report (every second here) to show `want` as differences from `base`, host by host. */
      async function expectUsage(base: Map<string, Usage>, want: Record<string, Usage>): Promise<void> {
        const delta = async () => Object.fromEntries([...(await usage())].map(([host, u]) => {
          const b = base.get(host)!;
          return [host, { vcpus: u.vcpus - b.vcpus, memory_mb: u.memory_mb - b.memory_mb, disk_gb: u.disk_gb - b.disk_gb, vms: u.vms - b.vms }];
        }));
        const expected = Object.fromEntries([...base.keys()].map((h) => [h, want[h] ?? zero]));
        const same = async () => JSON.stringify(await delta()) === JSON.stringify(expected);
        await cluster.waitUntil(same, 10_000).catch(() => undefined);
        expect(await delta()).toEqual(expected);
      }
      // Each size differs from tiny in every resource; disks stay small so the copies stay quick.
      const medium: InstanceFlavor = { ...tiny, name: 'usage.2', vcpus: 2, memory_mb: 1024, root_gb: 2 };
      const large: InstanceFlavor = { ...tiny, name: 'usage.3', vcpus: 3, memory_mb: 1536, root_gb: 3 };
      const vm = await buildServer();
      const source = vm.host!;
      await cluster.waitUntil(async () => (await listAllocations(cluster.ds, { consumer_uuid: vm.uuid })).length === 1);
      await new Promise((r) => setTimeout(r, 1500));
      const base = await usage();

      await cluster.requestMove(vm.uuid, { newFlavor: medium });
      const dest = (await awaitResized(vm.uuid)).host!;
      // VERIFY_RESIZE: both copies exist and both flavors are held.
      await expectUsage(base, { [dest]: plus(medium, 1, 1) });
      await confirm(vm.uuid);
      await cluster.waitFor(vm.uuid, (i) => i.vm_state === 'active' && i.task_state === null, 10_000);
      await expectUsage(base, { [source]: plus(tiny, -1, -1), [dest]: plus(medium, 1, 1) });

      const confirmed = await usage();
      await cluster.requestMove(vm.uuid, { newFlavor: large });
      const second = (await awaitResized(vm.uuid)).host!;
      expect(second).not.toBe(dest);
      await expectUsage(confirmed, { [second]: plus(large, 1, 1) });
      await revert(vm.uuid);
      await cluster.waitFor(vm.uuid, (i) => i.vm_state === 'active' && i.task_state === null && i.host === dest, 10_000);
      await expectUsage(confirmed, {});
    }, 60_000);
  });
}

const GIB = 1024 * MIB;

/** A cluster whose destination confirms moves itself after resize_confirm_window. */
export function autoConfirm(bus: BusKind): void {
  describe(`resize_confirm_window (${bus} bus)`, () => {
    let cluster: Cluster;
    beforeAll(async () => {
      cluster = await Cluster.start(bus, 'postgres', { resizeConfirmWindowSeconds: 1 });
    }, 60_000);
    afterAll(async () => {
      await cluster?.close();
    });

    it('confirms a move left in VERIFY_RESIZE past the window, as its own action', async () => {
      const tiny = await instanceFlavor(cluster.ds, 'm1.tiny');
      const vm = await cluster.buildServer(tiny);
      await cluster.requestMove(vm.uuid);
      await cluster.waitFor(vm.uuid, (i) => i.vm_state === 'resized', 30_000);
      const done = await cluster.waitFor(vm.uuid, (i) => i.vm_state === 'active' && i.old_flavor === null, 15_000);
      expect(done.host).not.toBe(vm.host);
      const m = await cluster.ds.getRepository(Migration).findOneByOrFail({ instance_uuid: vm.uuid });
      expect(m.status).toBe('confirmed');
      expect(await listAllocations(cluster.ds, { consumer_uuid: vm.uuid })).toHaveLength(1);
    }, 60_000);

    it('never auto-confirms away the only copy of an instance a failed finish gave back to the source', async () => {
      const tiny = await instanceFlavor(cluster.ds, 'm1.tiny');
      const vm = await cluster.buildServer(tiny);
      const dest = vm.host === 'compute-1' ? 'compute-2' : 'compute-1';
      await armFault(cluster.driver(dest).hostDir, 'finish_incoming');
      await cluster.requestMove(vm.uuid, { host: dest });
      const back = await cluster.waitFor(vm.uuid, (i) => i.task_state === null && i.vm_state === 'active', 30_000);
      expect(back.host).toBe(vm.host);
      const migrations = cluster.ds.getRepository(Migration);
      const m = await migrations.findOneByOrFail({ instance_uuid: vm.uuid });
      expect(m.status).toBe('error');
      // The finish's record write went through although the finish failed (its acknowledgement was lost): the record
      // says finished while the instance runs on the source only.
      await cluster.ds.query(`UPDATE migrations SET status = 'finished', updated_at = now() - interval '1 hour' WHERE id = $1`, [m.id]);
      await cluster.waitUntil(async () => !['finished', 'confirming'].includes((await migrations.findOneByOrFail({ id: m.id })).status), 15_000);
      const after = await migrations.findOneByOrFail({ id: m.id });
      expect(after.status).toBe('error');
      expect(after.last_error).toContain(`confirm refused: the database names ${vm.host}, not the destination ${dest}`);
      expect((await cluster.driver(vm.host!).getVm(vm.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
      expect(await cluster.instance(vm.uuid)).toMatchObject({ host: vm.host, vm_state: 'active', task_state: null });
    }, 60_000);
  });
}
