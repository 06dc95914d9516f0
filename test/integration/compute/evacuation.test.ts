// Evacuation over RabbitMQ and Postgres with real compute services: the destination rebuilds the guest and takes the
// instance and its claim; a stopped instance stays stopped; no valid host leaves the server as it was; a lost
// evacuate_server is re-driven by the reconciler; the returning source destroys its stale copy before anything else,
// and a source only cut off from the database (or forced down while it runs) pauses its guests and resumes those still
// placed on it.
import {
  advanceInstanceTask, createMigration, getMigration, listAllocations, listInstanceFaults, startAction, type Instance, type Migration,
} from '@ferry/common/db';
import { POWER_STATES, type EvacuationRequestData } from '@ferry/common/domain';
import { readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { newRequestContext, type NotificationMessage, type RequestContext } from '@ferry/common/rpc';
import { armFault } from '@ferry/compute/drivers';
import { insertBuildingInstance, instanceFlavor, requestSpecFor } from '../scheduler/fixtures';
import { Cluster } from './cluster';

const ADMIN = { user_id: 'admin', project_id: 'admin', roles: ['admin'] };

describe('evacuation (amqp, postgres)', () => {
  let cluster: Cluster;
  beforeEach(async () => {
    cluster = await Cluster.start('amqp', 'postgres', {
      serviceDownSeconds: 12, selfFenceSeconds: 6, reconcileIntervalSeconds: 1, reconcileLiveAcceptedSeconds: 2, reconcileMoveStepSeconds: 2,
    });
  });
  afterEach(async () => {
    await cluster?.close();
  });

  async function buildOn(host: string, stopped = false): Promise<Instance> {
    const flavor = await instanceFlavor(cluster.ds, 'm1.tiny');
    const row = await insertBuildingInstance(cluster.ds, flavor);
    await cluster.requestBuild([row], { ...requestSpecFor(flavor), force_hosts: [host] });
    const vm = await cluster.settled(row.uuid, 20_000);
    expect(vm).toMatchObject({ host, vm_state: 'active' });
    if (!stopped) return vm;
    await cluster.requestAction(vm.uuid, 'stop', 'powering-off', (ctx, h) => cluster.compute.stopInstance(ctx, h, vm.uuid));
    return cluster.waitFor(vm.uuid, (i) => i.vm_state === 'stopped' && i.task_state === null);
  }

  /** A source whose compute died: its process gone, its service forced down by the admin. */
  async function killSource(host: string): Promise<void> {
    await cluster.stopCompute(host);
    await cluster.ds.query(`UPDATE services SET forced_down = true WHERE host = $1`, [host]);
  }

  /** What the API does for evacuate: task rebuilding, the record (accepted), the action; the cast unless lost. */
  async function evacuate(vm: Instance, opts: { host?: string; force?: boolean; cast?: boolean } = {}): Promise<Migration> {
    expect(await advanceInstanceTask(cluster.ds, vm.uuid, [null], 'rebuilding')).toBe(true);
    const ctx: RequestContext = newRequestContext(ADMIN);
    await startAction(cluster.ds, ctx, vm.uuid, 'evacuate');
    const data: EvacuationRequestData = { requested_host: opts.host ?? null, force: opts.force ?? false, old_vm_state: vm.vm_state, request_context: ctx };
    const m = await createMigration(cluster.ds, {
      instance_uuid: vm.uuid, migration_type: 'evacuation', status: 'accepted', source_compute: vm.host, source_node: vm.node,
      dest_compute: opts.host ?? null, migrate_data: { ...data },
    }, 'api');
    if (opts.cast !== false) await cluster.scheduler.evacuateServer(ctx, m.id);
    return m;
  }

  const waitStatus = async (id: number, statuses: string[], timeoutMs = 20_000): Promise<Migration> => {
    await cluster.waitUntil(async () => statuses.includes((await getMigration(cluster.ds, id))!.status), timeoutMs);
    return (await getMigration(cluster.ds, id))!;
  };
  const claims = async (uuid: string) => (await listAllocations(cluster.ds, { consumer_uuid: uuid })).map((a) => a.host).sort();
  const vmOn = (host: string, uuid: string) => cluster.driver(host).getVm(uuid);
  const setForcedDown = (host: string, forced: boolean) => cluster.ds.query('UPDATE services SET forced_down = $2 WHERE host = $1', [host, forced]);
  /** Waits until the guest's VM on host is in power state `state`. */
  const untilPower = (host: string, uuid: string, state: number, timeoutMs = 25_000) =>
    cluster.waitUntil(async () => (await vmOn(host, uuid))?.power_state === state, timeoutMs);
  /** An admin forces host down until its fence has paused the guest, then lifts it. */
  async function fenceThenLift(host: string, uuid: string): Promise<void> {
    await setForcedDown(host, true);
    await untilPower(host, uuid, POWER_STATES.PAUSED);
    await setForcedDown(host, false);
  }

  it('rebuilds the guest on the requested host, moves host and claim there, records done; the returning source destroys its copy and completes', async () => {
    const vm = await buildOn('compute-1');
    const events: NotificationMessage[] = [];
    const tap = await cluster.transport.listenNotifications((n) => { events.push(n); });
    await killSource('compute-1');
    const m = await evacuate(vm, { host: 'compute-3' });
    expect(await waitStatus(m.id, ['done'])).toMatchObject({ status: 'done', dest_compute: 'compute-3', migrate_data: expect.objectContaining({ shared_storage: false }) });
    expect(await cluster.instance(vm.uuid)).toMatchObject({ host: 'compute-3', vm_state: 'active', task_state: null, power_state: POWER_STATES.RUNNING });
    expect((await vmOn('compute-3', vm.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
    expect(await claims(vm.uuid)).toEqual(['compute-3']);
    await cluster.waitUntil(async () => events.some((e) => e.event_type === 'instance.evacuate'));
    await tap.stop();
    const evacuated = events.find((e) => e.event_type === 'instance.evacuate')!;
    expect(evacuated).toMatchObject({ publisher_id: 'ferry-compute:compute-3', priority: 'INFO' });
    expect(JSON.stringify(evacuated.payload)).toContain(vm.uuid);
    // The dead host's guest still "runs" (fake VMs outlive their compute, as real ones do) until the host returns.
    expect((await vmOn('compute-1', vm.uuid))?.power_state).toBe(POWER_STATES.RUNNING);

    await cluster.startCompute('compute-1');
    // Fencing runs before the service starts: by the time startCompute returns, the stale copy is gone.
    expect(await vmOn('compute-1', vm.uuid)).toBeUndefined();
    expect((await getMigration(cluster.ds, m.id))!.status).toBe('completed');
    expect((await vmOn('compute-3', vm.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
  });

  it('keeps a stopped instance stopped, and lets the scheduler choose without a host', async () => {
    const vm = await buildOn('compute-1', true);
    await killSource('compute-1');
    const m = await evacuate(vm);
    const done = await waitStatus(m.id, ['done']);
    expect(done.dest_compute).not.toBe('compute-1');
    expect(await cluster.instance(vm.uuid)).toMatchObject({ host: done.dest_compute, vm_state: 'stopped', power_state: POWER_STATES.SHUTDOWN });
    expect((await vmOn(done.dest_compute!, vm.uuid))?.power_state).toBe(POWER_STATES.SHUTDOWN);
  });

  it('no valid host: the record errors, the server keeps its host and state with a fault', async () => {
    const vm = await buildOn('compute-1');
    await killSource('compute-1');
    await cluster.ds.query(`UPDATE services SET disabled = true WHERE host <> 'compute-1'`);
    const m = await evacuate(vm);
    expect(await waitStatus(m.id, ['error'])).toMatchObject({ last_error: expect.stringContaining('No valid host') });
    expect(await cluster.waitFor(vm.uuid, (i) => i.task_state === null)).toMatchObject({ host: 'compute-1', vm_state: 'active' });
    expect(await claims(vm.uuid)).toEqual(['compute-1']);
    expect((await listInstanceFaults(cluster.ds, vm.uuid)).length).toBe(1);
  });

  it('a rebuild that fails: the record fails, the server goes to ERROR on its old host with a fault, nothing left on the destination', async () => {
    const vm = await buildOn('compute-1');
    await killSource('compute-1');
    await armFault(cluster.driver('compute-2').hostDir, 'spawn', { times: 1, message: 'disk full' });
    const m = await evacuate(vm, { host: 'compute-2' });
    expect(await waitStatus(m.id, ['failed'])).toMatchObject({ last_error: expect.stringContaining('disk full') });
    expect(await cluster.waitFor(vm.uuid, (i) => i.task_state === null)).toMatchObject({ host: 'compute-1', vm_state: 'error' });
    expect(await vmOn('compute-2', vm.uuid)).toBeUndefined();
    expect(await claims(vm.uuid)).toEqual(['compute-1']);
    // The operator may evacuate it again.
    const again = await evacuate(await cluster.instance(vm.uuid), { host: 'compute-2' });
    expect((await waitStatus(again.id, ['done'])).status).toBe('done');
    expect(await cluster.instance(vm.uuid)).toMatchObject({ host: 'compute-2', vm_state: 'active' });
  });

  it('a lost evacuate_server is re-driven by the elected scheduler', async () => {
    const vm = await buildOn('compute-1');
    await killSource('compute-1');
    const m = await evacuate(vm, { cast: false });
    expect((await waitStatus(m.id, ['done'])).status).toBe('done');
    expect((await cluster.instance(vm.uuid)).host).not.toBe('compute-1');
  });

  /**
   * compute-1 dies and its guest is evacuated to compute-2, whose rebuild has not happened yet (its message waits,
   * compute-2 down); compute-1 comes back, no longer forced down, and holds its copy paused.
   */
  async function sourceBackWhileEvacuationOpen(): Promise<{ vm: Instance; m: Migration }> {
    const vm = await buildOn('compute-1');
    await killSource('compute-1');
    await cluster.stopCompute('compute-2');
    const m = await evacuate(vm, { host: 'compute-2', force: true });
    // Back and no longer forced down: only its start-up fence and its reconciler act on the evacuation.
    await cluster.ds.query(`UPDATE services SET forced_down = false WHERE host = 'compute-1'`);
    await cluster.startCompute('compute-1');
    expect((await vmOn('compute-1', vm.uuid))?.power_state).toBe(POWER_STATES.PAUSED);
    return { vm, m };
  }

  it('a source back while its evacuation is not done keeps the guest paused, and its reconciler destroys it once done', async () => {
    const { vm, m } = await sourceBackWhileEvacuationOpen();
    await cluster.startCompute('compute-2');
    // Once the destination is done, the source's reconciler fences the held copy without a restart.
    expect((await waitStatus(m.id, ['completed'])).status).toBe('completed');
    expect(await vmOn('compute-1', vm.uuid)).toBeUndefined();
    expect((await vmOn('compute-2', vm.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
  });

  it('a source back while its evacuation is open lets the paused guest go when the evacuation fails: the database records it paused, nothing resumes it', async () => {
    const { vm, m } = await sourceBackWhileEvacuationOpen();
    // While the evacuation is open, the power sync leaves the held guest alone: the database still says it runs.
    await sleep(2500);
    expect((await cluster.instance(vm.uuid)).power_state).toBe(POWER_STATES.RUNNING);
    // The destination's rebuild fails: the instance stays on compute-1, in ERROR.
    await armFault(cluster.driver('compute-2').hostDir, 'spawn', { times: 1, message: 'disk full' });
    await cluster.startCompute('compute-2');
    expect((await waitStatus(m.id, ['failed'])).status).toBe('failed');
    // The hold ends with the evacuation: the power sync records what runs (paused) instead of RUNNING for good, and
    // the guest is not resumed (which copy is good is the operator's call after a failed evacuation).
    const seen = await cluster.waitFor(vm.uuid, (i) => i.power_state === POWER_STATES.PAUSED, 15_000);
    expect(seen).toMatchObject({ host: 'compute-1', vm_state: 'error', task_state: null });
    await sleep(2500);
    expect((await vmOn('compute-1', vm.uuid))?.power_state).toBe(POWER_STATES.PAUSED);
    expect(await vmOn('compute-2', vm.uuid)).toBeUndefined();
  });

  it('a compute that starts while its service is forced down keeps its guests paused until an admin lifts it', async () => {
    const vm = await buildOn('compute-1');
    await killSource('compute-1');
    await cluster.startCompute('compute-1');
    // Paused before the compute serves anything: the host may be evacuated while it stays forced down.
    expect((await vmOn('compute-1', vm.uuid))?.power_state).toBe(POWER_STATES.PAUSED);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await vmOn('compute-1', vm.uuid))?.power_state).toBe(POWER_STATES.PAUSED);
    await cluster.ds.query(`UPDATE services SET forced_down = false WHERE host = 'compute-1'`);
    await cluster.waitUntil(async () => (await vmOn('compute-1', vm.uuid))?.power_state === POWER_STATES.RUNNING, 25_000);
    expect(await cluster.instance(vm.uuid)).toMatchObject({ host: 'compute-1', vm_state: 'active' });
  });

  it('a compute cut off from the database pauses its guests past the fence interval and resumes them when it reconnects', async () => {
    const vm = await buildOn('compute-1');
    // Hold compute-1's services row: its heartbeat write waits, as it would on a partition.
    const qr = cluster.ds.createQueryRunner();
    await qr.startTransaction();
    await qr.query(`SELECT 1 FROM services WHERE host = 'compute-1' FOR UPDATE`);
    try {
      await cluster.waitUntil(async () => (await vmOn('compute-1', vm.uuid))?.power_state === POWER_STATES.PAUSED, 25_000);
    } finally {
      await qr.rollbackTransaction();
      await qr.release();
    }
    await cluster.waitUntil(async () => (await vmOn('compute-1', vm.uuid))?.power_state === POWER_STATES.RUNNING, 25_000);
    expect(await cluster.instance(vm.uuid)).toMatchObject({ host: 'compute-1', vm_state: 'active' });
  });

  it('a cut-off compute whose instance was evacuated meanwhile destroys its copy when it reconnects, and resumes nothing', async () => {
    const vm = await buildOn('compute-1');
    const qr = cluster.ds.createQueryRunner();
    await qr.startTransaction();
    await qr.query(`SELECT 1 FROM services WHERE host = 'compute-1' FOR UPDATE`);
    let m: Migration;
    try {
      await cluster.waitUntil(async () => (await vmOn('compute-1', vm.uuid))?.power_state === POWER_STATES.PAUSED, 25_000);
      m = await evacuate(vm, { host: 'compute-2' });
      await waitStatus(m.id, ['done']);
    } finally {
      await qr.rollbackTransaction();
      await qr.release();
    }
    await cluster.waitUntil(async () => (await vmOn('compute-1', vm.uuid)) === undefined, 15_000);
    // The record says completed once the copy is gone (a step after the destroy): a failure would leave it done.
    expect((await waitStatus(m!.id, ['completed', 'error', 'failed'])).status).toBe('completed');
    expect((await vmOn('compute-2', vm.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
  });

  it('a compute forced down while it runs pauses its guests, fences an evacuated copy at once, and resumes the rest when no longer forced down', async () => {
    const moved = await buildOn('compute-1');
    const stays = await buildOn('compute-1');
    await cluster.ds.query(`UPDATE services SET forced_down = true WHERE host = 'compute-1'`);
    // The fence pauses the guests one after another, in the order the driver lists them: both, before the evacuation.
    const paused = async (uuid: string) => (await vmOn('compute-1', uuid))?.power_state === POWER_STATES.PAUSED;
    await cluster.waitUntil(async () => (await paused(stays.uuid)) && (await paused(moved.uuid)), 25_000);
    const m = await evacuate(moved, { host: 'compute-2' });
    await cluster.waitUntil(async () => (await getMigration(cluster.ds, m.id))!.status === 'completed', 15_000);
    expect(await vmOn('compute-1', moved.uuid)).toBeUndefined();
    expect((await vmOn('compute-2', moved.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
    await cluster.ds.query(`UPDATE services SET forced_down = false WHERE host = 'compute-1'`);
    await cluster.waitUntil(async () => (await vmOn('compute-1', stays.uuid))?.power_state === POWER_STATES.RUNNING, 25_000);
    expect(await cluster.instance(stays.uuid)).toMatchObject({ host: 'compute-1', vm_state: 'active' });
  });

  it('a guest the fence paused while its build was finishing runs again when the fence lifts', async () => {
    const vm = await buildOn('compute-1');
    // The database as it is between the spawn and the write that makes the instance ACTIVE: the guest already runs.
    await cluster.ds.query(`UPDATE instances SET vm_state = 'building', task_state = 'spawning' WHERE uuid = $1`, [vm.uuid]);
    await fenceThenLift('compute-1', vm.uuid);
    await untilPower('compute-1', vm.uuid, POWER_STATES.RUNNING);
  });

  it('a destination whose fence paused the guest it rebuilt resumes it when the fence lifts, though the source has not completed the evacuation', async () => {
    const vm = await buildOn('compute-1');
    await killSource('compute-1');
    const m = await evacuate(vm, { host: 'compute-2' });
    // Done here; the record stays open until the source comes back to complete it.
    await waitStatus(m.id, ['done']);
    expect((await vmOn('compute-2', vm.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
    await fenceThenLift('compute-2', vm.uuid);
    await untilPower('compute-2', vm.uuid, POWER_STATES.RUNNING);
    expect((await getMigration(cluster.ds, m.id))!.status).toBe('done');
    expect(await cluster.instance(vm.uuid)).toMatchObject({ host: 'compute-2', vm_state: 'active' });
  });

  it('a guest the fence paused before the database named its host stays paused until it does, then runs', async () => {
    const vm = await buildOn('compute-1');
    // The database as a rebuild or a move finishing on compute-1 leaves it before its last write: another host named.
    await cluster.ds.query(`UPDATE instances SET host = 'compute-3', node = 'compute-3' WHERE uuid = $1`, [vm.uuid]);
    await fenceThenLift('compute-1', vm.uuid);
    // Lifted, but the database names compute-3: the copy here stays paused.
    await new Promise((r) => setTimeout(r, 4000));
    expect((await vmOn('compute-1', vm.uuid))?.power_state).toBe(POWER_STATES.PAUSED);
    await cluster.ds.query(`UPDATE instances SET host = 'compute-1', node = $2 WHERE uuid = $1`, [vm.uuid, vm.node]);
    await untilPower('compute-1', vm.uuid, POWER_STATES.RUNNING, 15_000);
    expect(await cluster.instance(vm.uuid)).toMatchObject({ host: 'compute-1', vm_state: 'active' });
  });

  it('on shared storage the destination defines the guest on the same disk, and the returning source keeps it', async () => {
    // compute-2 sees compute-1's instance directory: the same storage id, as hosts on one NFS export.
    await cluster.stopCompute('compute-2');
    const dir2 = cluster.driver('compute-2').instancesDir;
    await rm(dir2, { recursive: true, force: true });
    await symlink(cluster.driver('compute-1').instancesDir, dir2);
    await cluster.startCompute('compute-2');
    const vm = await buildOn('compute-1');
    const disk = join(cluster.driver('compute-1').vmDir(vm.uuid), 'disk');
    await writeFile(disk, 'the guest wrote this', { flag: 'r+' });
    await killSource('compute-1');
    const m = await evacuate(vm, { host: 'compute-2' });
    expect(await waitStatus(m.id, ['done'])).toMatchObject({ migrate_data: expect.objectContaining({ shared_storage: true }) });
    expect(await cluster.instance(vm.uuid)).toMatchObject({ host: 'compute-2', vm_state: 'active' });
    await cluster.startCompute('compute-1');
    expect((await getMigration(cluster.ds, m.id))!.status).toBe('completed');
    expect((await vmOn('compute-2', vm.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
    expect((await readFile(disk)).subarray(0, 20).toString()).toBe('the guest wrote this');
  });
});
