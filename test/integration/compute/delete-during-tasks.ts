// DELETE in every task state, as the API asks it (task `deleting`, then terminate_instance to the host the instance
// names): during each phase of a cold move, a live migration running or queued, a build and a power action. After
// each, nothing is left: no VM or disk on any host, no claim, the move's record over, no fault, no step in error.
import { readdir, stat } from 'node:fs/promises';
import {
  advanceInstanceTask, advanceMigration, getActionWithEvents, listAllocations, listInstanceFaults, Migration, startAction, type Instance, type InstanceFlavor,
} from '@ferry/common/db';
import { ALL_TASK_STATES, DIRTY_RATE_METADATA_KEY } from '@ferry/common/domain';
import { newRequestContext, type RequestContext } from '@ferry/common/rpc';
import { type FakeDriver } from '@ferry/compute/drivers';
import { LocalTransfer, type CopyRequest, type CopyResult, type Transfer } from '@ferry/compute/transfer';
import { insertBuildingInstance, instanceFlavor, requestSpecFor } from '../scheduler/fixtures';
import { Cluster, HOSTS, type BusKind, type DatabaseKind } from './cluster';
import { GatedTransfer } from './cold-migration';

const MIB = 1024 * 1024;
const exists = (path: string) => stat(path).then(() => true, () => false);

/** Fast fake live migrations (as the live-migration suite runs them), with no completion timeout. */
const LIVE = {
  fakeLiveTimeScale: 0.01, liveMigrationMonitorMs: 20, liveMigrationDowntimeDelay: 3, liveMigrationDowntimeMs: 100, liveMigrationCompletionTimeout: 0,
};

/** A gate in front of one of a fake driver's methods: calls wait there until the test opens it. */
function gateDriver(
  driver: FakeDriver, method: 'spawn' | 'powerOff' | 'powerOn' | 'rescue' | 'finishIncoming' | 'liveMigrationPrepare',
): { reached: Promise<void>; open: () => void } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => { open = resolve; });
  let arrived!: () => void;
  const reached = new Promise<void>((resolve) => { arrived = resolve; });
  const original = (driver[method] as (...args: unknown[]) => Promise<unknown>).bind(driver);
  Object.assign(driver, {
    [method]: async (...args: unknown[]) => {
      arrived();
      await gate;
      return original(...args);
    },
  });
  return { reached, open };
}

/** A copy held at a gate that ignores its cancel signal, as a transfer cut off from its caller would: it finishes late. */
class DeafGatedTransfer implements Transfer {
  readonly kind = 'deaf-gated-local';
  private readonly inner = new LocalTransfer();
  private release!: () => void;
  private readonly gate = new Promise<void>((resolve) => { this.release = resolve; });
  private arrived!: () => void;
  readonly reached = new Promise<void>((resolve) => { this.arrived = resolve; });

  async copy(req: CopyRequest): Promise<CopyResult> {
    if (req.ranges === undefined) {
      this.arrived();
      await this.gate;
      const { signal: _ignored, ...deaf } = req;
      return this.inner.copy(deaf);
    }
    return this.inner.copy(req);
  }

  open(): void {
    this.release();
  }
}

export function deleteDuringTasks(bus: BusKind, database: DatabaseKind = 'postgres'): void {
  describe(`DELETE in every task state (${bus} bus, ${database} database)`, () => {
    let cluster: Cluster;
    let tiny: InstanceFlavor;

    beforeAll(async () => {
      cluster = await Cluster.start(bus, database, { fakeGuestWriteRate: 8 * MIB, ...LIVE });
      tiny = await instanceFlavor(cluster.ds, 'm1.tiny');
    }, 60_000);
    afterAll(async () => {
      await cluster?.close();
    });

    async function buildServer(metadata: Record<string, string> = {}): Promise<Instance> {
      return cluster.buildServer(tiny, { metadata });
    }
    const migrationOf = (uuid: string) => cluster.ds.getRepository(Migration).findOneOrFail({ where: { instance_uuid: uuid }, order: { id: 'DESC' } });
    const record = (id: number) => cluster.ds.getRepository(Migration).findOneByOrFail({ id });
    const waitStatus = async (id: number, statuses: string[]) => {
      await cluster.waitUntil(async () => statuses.includes((await record(id)).status), 20_000);
      return record(id);
    };

    /** What the API does for DELETE: win `deleting` from whatever task runs, open the action, cast to the instance's host. */
    async function requestDelete(uuid: string): Promise<RequestContext> {
      expect(await advanceInstanceTask(cluster.ds, uuid, [null, ...ALL_TASK_STATES], 'deleting')).toBe(true);
      const ctx = newRequestContext({ user_id: 'demo', project_id: 'demo' });
      await startAction(cluster.ds, ctx, uuid, 'delete');
      const instance = await cluster.instance(uuid);
      await cluster.compute.terminateInstance(ctx, instance.host!, uuid);
      return ctx;
    }

    /** Replaces host's compute with one on the given driver or transfer; returns how to put the plain one back. */
    async function restartCompute(host: string, opts: { driver?: FakeDriver; transfer?: Transfer }): Promise<() => Promise<void>> {
      await cluster.stopCompute(host);
      await cluster.startCompute(host, opts);
      return async () => {
        await cluster.stopCompute(host);
        await cluster.startCompute(host);
      };
    }

    async function leftovers(uuid: string): Promise<string[]> {
      const found: string[] = [];
      for (const host of HOSTS) {
        if (await cluster.driver(host).getVm(uuid)) found.push(`VM on ${host}`);
        // What the directory holds says which step left it (a disk, a half-written state file, nothing).
        const dir = cluster.driver(host).vmDir(uuid);
        if (await exists(dir)) found.push(`files on ${host}: [${(await readdir(dir).catch((err: Error) => [err.message])).join(', ')}]`);
      }
      for (const a of await listAllocations(cluster.ds, { consumer_uuid: uuid })) found.push(`claim on ${a.host}`);
      return found;
    }

    /** Every step any request ran on the instance (build, power action, move, delete), with how it ended. */
    const events = (uuid: string): Promise<{ event: string; host: string; result: string | null; finished: boolean }[]> => cluster.ds.query(
      `SELECT e.event, e.host, e.result, e.finish_time IS NOT NULL AS finished
         FROM instance_action_events e JOIN instance_actions a ON a.id = e.action_id WHERE a.instance_uuid = $1 ORDER BY e.id`,
      [uuid],
    );

    /**
     * The invariant after every delete, once every step has ended: the instance deleted, nothing of it anywhere, the
     * move over, no fault, and every step, the ones the delete stopped included, ended without error.
     */
    async function expectNothingLeft(uuid: string, ctx: RequestContext | undefined, move?: { id: number; status: string }): Promise<void> {
      const done = async () => (await cluster.instance(uuid)).deleted_at !== null && (await leftovers(uuid)).length === 0
        && (await events(uuid)).every((e) => e.finished) && (!move || (await record(move.id)).status === move.status);
      await cluster.waitUntil(done, 20_000).catch(() => undefined);
      expect(await cluster.instance(uuid)).toMatchObject({ vm_state: 'deleted', task_state: null, deleted_at: expect.any(Date) });
      expect(await leftovers(uuid)).toEqual([]);
      if (move) {
        const m = await record(move.id);
        expect(m.status).toBe(move.status);
        expect(await listAllocations(cluster.ds, { consumer_uuid: m.uuid })).toEqual([]);
      }
      expect(await listInstanceFaults(cluster.ds, uuid)).toEqual([]);
      const all = await events(uuid);
      expect(all.filter((e) => e.result !== 'Success').map((e) => [e.event, e.host, e.result])).toEqual([]);
      if (!ctx) return;
      const terminated = (await getActionWithEvents(cluster.ds, uuid, ctx.request_id))!.events.filter((e) => e.event === 'compute_terminate_instance');
      expect(terminated.length).toBeGreaterThan(0);
    }

    it.each([
      ['during pass 1, the guest running', (req: CopyRequest) => req.ranges === undefined],
      ['after power-off, before pass 2', (req: CopyRequest) => req.ranges !== undefined],
    ])('stops a cold move %s: the copy is cancelled, both hosts drop their copy and claim, the record errors out', async (_label, holds) => {
      const vm = await buildServer();
      // Pass 1 lasts long enough for the guest (8 MiB/s) to write: a disk copied in an instant leaves pass 2 nothing to do.
      const gated = new GatedTransfer(holds, 300);
      const restore = await restartCompute(vm.host!, { transfer: gated });
      try {
        await cluster.requestMove(vm.uuid);
        await gated.reached;
        const m = await migrationOf(vm.uuid);
        expect(m.status).toBe('migrating');
        expect(await exists(cluster.driver(m.dest_compute!).vmDir(vm.uuid))).toBe(true);
        const ctx = await requestDelete(vm.uuid);
        await expectNothingLeft(vm.uuid, ctx, { id: m.id, status: 'error' });
      } finally {
        gated.open();
        await restore();
      }
    }, 60_000);

    it('leaves no file behind when a disk copy deaf to the cancel finishes after the delete', async () => {
      const vm = await buildServer();
      const deaf = new DeafGatedTransfer();
      const restore = await restartCompute(vm.host!, { transfer: deaf });
      try {
        await cluster.requestMove(vm.uuid);
        await deaf.reached;
        const m = await migrationOf(vm.uuid);
        const ctx = await requestDelete(vm.uuid);
        // The terminate waits for the copy; the copy lands its file on the destination, and only then is it removed.
        await new Promise((r) => setTimeout(r, 300));
        expect((await cluster.instance(vm.uuid)).deleted_at).toBeNull();
        deaf.open();
        await expectNothingLeft(vm.uuid, ctx, { id: m.id, status: 'error' });
      } finally {
        deaf.open();
        await restore();
      }
    }, 60_000);

    it('stops a cold move while the destination finishes it: no guest survives there, the source copy goes too', async () => {
      const vm = await buildServer();
      const dest = HOSTS.find((h) => h !== vm.host)!;
      const driver = cluster.driver(dest);
      const finishing = gateDriver(driver, 'finishIncoming');
      const restore = await restartCompute(dest, { driver });
      try {
        await cluster.requestMove(vm.uuid, { host: dest });
        await finishing.reached;
        const m = await migrationOf(vm.uuid);
        expect(m.status).toBe('post-migrating');
        expect(await cluster.instance(vm.uuid)).toMatchObject({ host: dest, task_state: 'resize_finish' });
        const ctx = await requestDelete(vm.uuid);
        await new Promise((r) => setTimeout(r, 200));
        finishing.open();
        await expectNothingLeft(vm.uuid, ctx, { id: m.id, status: 'error' });
      } finally {
        finishing.open();
        await restore();
      }
    }, 60_000);

    it('deletes a server while its revert is on its way: the late revert messages find nothing to do and create nothing', async () => {
      const vm = await buildServer();
      await cluster.requestMove(vm.uuid);
      const resized = await cluster.waitFor(vm.uuid, (i) => i.vm_state === 'resized' && i.task_state === null, 30_000);
      const m = await migrationOf(vm.uuid);
      // What the API does for revertResize, its cast to the destination still in flight.
      await cluster.requestAction(vm.uuid, 'revertResize', 'resize_reverting', async () => undefined);
      expect(await advanceMigration(cluster.ds, m.id, ['finished'], 'reverting', 'api')).toBe(true);
      const ctx = await requestDelete(vm.uuid);
      await expectNothingLeft(vm.uuid, ctx, { id: m.id, status: 'error' });
      await cluster.compute.revertResize(newRequestContext(), resized.host!, m.id);
      await cluster.compute.finishRevertResize(newRequestContext(), vm.host!, m.id);
      await new Promise((r) => setTimeout(r, 300));
      await expectNothingLeft(vm.uuid, ctx, { id: m.id, status: 'error' });
    }, 60_000);

    it('stops a live migration that never converges: the job is aborted, the incoming VM and both claims go, cancelled', async () => {
      const vm = await buildServer({ [DIRTY_RATE_METADATA_KEY]: String(2 * 1024) });
      const m = await cluster.requestLiveMigration(vm.uuid);
      const running = await waitStatus(m.id, ['running']);
      expect(await cluster.driver(running.dest_compute!).getVm(vm.uuid)).toBeDefined();
      const ctx = await requestDelete(vm.uuid);
      await expectNothingLeft(vm.uuid, ctx, { id: m.id, status: 'cancelled' });
    }, 60_000);

    it('stops a live migration while the destination prepares: the incoming VM made after the delete goes, cancelled', async () => {
      const vm = await buildServer();
      const dest = HOSTS.find((h) => h !== vm.host)!;
      const driver = cluster.driver(dest);
      const preparing = gateDriver(driver, 'liveMigrationPrepare');
      const restore = await restartCompute(dest, { driver });
      try {
        const m = await cluster.requestLiveMigration(vm.uuid, { host: dest });
        await preparing.reached;
        expect((await record(m.id)).status).toBe('preparing');
        const ctx = await requestDelete(vm.uuid);
        await new Promise((r) => setTimeout(r, 200));
        preparing.open();
        await expectNothingLeft(vm.uuid, ctx, { id: m.id, status: 'cancelled' });
      } finally {
        preparing.open();
        await restore();
      }
    }, 60_000);

    it('cancels a queued live migration of a deleted server, leaving the one running ahead of it alone', async () => {
      const first = await buildServer({ [DIRTY_RATE_METADATA_KEY]: String(2 * 1024) });
      const second = await buildServer();
      expect(second.host).toBe(first.host);
      const m1 = await cluster.requestLiveMigration(first.uuid);
      await waitStatus(m1.id, ['running']);
      const m2 = await cluster.requestLiveMigration(second.uuid);
      await waitStatus(m2.id, ['queued']);
      const ctx2 = await requestDelete(second.uuid);
      await expectNothingLeft(second.uuid, ctx2, { id: m2.id, status: 'cancelled' });
      expect((await record(m1.id)).status).toBe('running');
      const ctx1 = await requestDelete(first.uuid);
      await expectNothingLeft(first.uuid, ctx1, { id: m1.id, status: 'cancelled' });
    }, 60_000);

    it('deletes a server while its host spawns it: the VM made after the terminate is destroyed too', async () => {
      const host = HOSTS[0]!;
      const driver = cluster.driver(host);
      const spawning = gateDriver(driver, 'spawn');
      const restore = await restartCompute(host, { driver });
      try {
        const row = await insertBuildingInstance(cluster.ds, tiny);
        await cluster.requestBuild([row], requestSpecFor(tiny, { force_hosts: [host] }));
        await spawning.reached;
        expect(await cluster.instance(row.uuid)).toMatchObject({ task_state: 'spawning', host });
        const ctx = await requestDelete(row.uuid);
        await cluster.waitFor(row.uuid, (i) => i.deleted_at !== null);
        spawning.open();
        await expectNothingLeft(row.uuid, ctx);
      } finally {
        spawning.open();
        await restore();
      }
    }, 60_000);

    it.each([
      ['stop', 'powering-off', 'powerOff'],
      ['start', 'powering-on', 'powerOn'],
      ['rescue', 'rescuing', 'rescue'],
    ] as const)('deletes a server during %s (%s): the late driver call finds no VM and records no fault', async (action, task, method) => {
      const host = HOSTS[0]!;
      const row = await insertBuildingInstance(cluster.ds, tiny);
      await cluster.requestBuild([row], requestSpecFor(tiny, { force_hosts: [host] }));
      const vm = await cluster.settled(row.uuid);
      if (action === 'start') {
        await cluster.requestAction(vm.uuid, 'stop', 'powering-off', (ctx, h) => cluster.compute.stopInstance(ctx, h, vm.uuid));
        await cluster.waitFor(vm.uuid, (i) => i.vm_state === 'stopped' && i.task_state === null);
      }
      const driver = cluster.driver(host);
      const power = gateDriver(driver, method);
      const restore = await restartCompute(host, { driver });
      try {
        const casts = {
          stop: (ctx: RequestContext, h: string) => cluster.compute.stopInstance(ctx, h, vm.uuid),
          start: (ctx: RequestContext, h: string) => cluster.compute.startInstance(ctx, h, vm.uuid),
          rescue: (ctx: RequestContext, h: string) => cluster.compute.rescueInstance(ctx, h, vm.uuid, 'cirros-rescue'),
        };
        await cluster.requestAction(vm.uuid, action, task, casts[action]);
        await power.reached;
        const ctx = await requestDelete(vm.uuid);
        await cluster.waitFor(vm.uuid, (i) => i.deleted_at !== null);
        power.open();
        await new Promise((r) => setTimeout(r, 200));
        await expectNothingLeft(vm.uuid, ctx);
      } finally {
        power.open();
        await restore();
      }
    }, 60_000);

    it('finishes at startup a delete whose terminate its compute never ran (the server left in task deleting)', async () => {
      const vm = await buildServer();
      await cluster.stopCompute(vm.host!);
      try {
        expect(await advanceInstanceTask(cluster.ds, vm.uuid, [null], 'deleting')).toBe(true);
        await new Promise((r) => setTimeout(r, 200));
        expect(await cluster.driver(vm.host!).getVm(vm.uuid)).toBeDefined();
      } finally {
        await cluster.startCompute(vm.host!);
      }
      await expectNothingLeft(vm.uuid, undefined);
    }, 60_000);

    it('accepts a repeated delete and a late terminate_instance for a deleted server as no-ops', async () => {
      const vm = await buildServer();
      const ctx = await requestDelete(vm.uuid);
      await expectNothingLeft(vm.uuid, ctx);
      for (const host of HOSTS) await cluster.compute.terminateInstance(newRequestContext(), host, vm.uuid);
      await new Promise((r) => setTimeout(r, 300));
      await expectNothingLeft(vm.uuid, ctx);
    }, 60_000);
  });
}
