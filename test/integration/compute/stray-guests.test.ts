// The stray sweep on RabbitMQ, with Postgres and with the embedded database: what a host holds that the database does not need is removed (VMs of
// deleted instances, incoming VMs and copied-in disks of moves that ended, claims it no longer has), and nothing it
// cannot prove to be garbage is touched.
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { advanceMigration, claimResources, createMigration, flavorResources, Instance, listAllocations, type InstanceFlavor } from '@ferry/common/db';
import { POWER_STATES } from '@ferry/common/domain';
import { instanceFlavor } from '../scheduler/fixtures';
import { Cluster, type DatabaseKind } from './cluster';

jest.setTimeout(60_000);

describe.each<DatabaseKind>(['postgres', 'embedded'])('stray sweep (amqp bus, %s database)', (database) => {
  let cluster: Cluster;
  let tiny: InstanceFlavor;

  beforeAll(async () => {
    cluster = await Cluster.start('amqp', database, { strayGraceSeconds: 1 });
    tiny = await instanceFlavor(cluster.ds, 'm1.tiny');
  }, 60_000);
  afterAll(async () => {
    await cluster?.close();
  });

  async function buildServer(): Promise<Instance> {
    const built = await cluster.buildServer(tiny);
    expect(built).toMatchObject({ vm_state: 'active' });
    return built;
  }
  const otherHost = (host: string) => (host === 'compute-1' ? 'compute-2' : 'compute-1');
  const held = (host: string, uuid: string) => cluster.driver(host).listHeldInstances().then((uuids) => uuids.includes(uuid));
  const spec = (i: Pick<Instance, 'uuid'>) => ({ uuid: i.uuid, name: `instance-${i.uuid.slice(0, 8)}`, flavor: tiny, image_ref: 'cirros' });
  /** An incoming VM as Prepare leaves it on `host` (paused, empty disk), for instance `i`. */
  const incomingOn = (host: string, i: Pick<Instance, 'uuid'>, from: string) =>
    cluster.driver(host).liveMigrationPrepare(spec(i), { source_host: from }, { blockMigration: true });
  /** Leaves two sweeps' time beyond the grace period. */
  const afterSweeps = () => new Promise((r) => setTimeout(r, 3_500));

  it('removes the VM of a deleted instance (a delete its host missed while down), and its claim', async () => {
    const vm = await buildServer();
    await cluster.stopCompute(vm.host!);
    // What the API's local delete writes when the host is down: the row goes, the VM stays behind on the host.
    await cluster.ds.getRepository(Instance).update({ uuid: vm.uuid }, { deleted_at: new Date(), vm_state: 'deleted', task_state: null });
    expect(await held(vm.host!, vm.uuid)).toBe(true);
    await cluster.startCompute(vm.host!);
    await cluster.waitUntil(async () => !(await held(vm.host!, vm.uuid)), 15_000);
    // The claim goes later in the same sweep, after the guests.
    await cluster.waitUntil(async () => (await listAllocations(cluster.ds, { consumer_uuid: vm.uuid })).length === 0, 15_000);
  });

  it('removes the source copy of a server deleted in VERIFY_RESIZE while the source was down', async () => {
    const vm = await buildServer();
    await cluster.requestMove(vm.uuid, { newFlavor: await instanceFlavor(cluster.ds, 'm1.small') });
    const resized = await cluster.waitFor(vm.uuid, (i) => i.vm_state === 'resized' && i.task_state === null, 20_000);
    expect(resized.host).not.toBe(vm.host);
    await cluster.stopCompute(vm.host!);
    expect(await held(vm.host!, vm.uuid)).toBe(true);
    await cluster.ds.getRepository(Instance).update({ uuid: vm.uuid }, { deleted_at: new Date(), vm_state: 'deleted', task_state: null });
    await cluster.startCompute(vm.host!);
    await cluster.waitUntil(async () => !(await held(vm.host!, vm.uuid)), 15_000);
    await cluster.waitUntil(async () => (await listAllocations(cluster.ds, { consumer_uuid: vm.uuid, host: vm.host! })).length === 0, 15_000);
  });

  it('removes an incoming VM and the claim of a live migration that failed, and leaves the running guest alone', async () => {
    const vm = await buildServer();
    const dest = otherHost(vm.host!);
    await createMigration(cluster.ds, {
      instance_uuid: vm.uuid, migration_type: 'live-migration', status: 'accepted', source_compute: vm.host!, dest_compute: dest,
    }, 'api').then((m) => advanceMigration(cluster.ds, m.id, ['accepted'], 'failed', 'api'));
    await incomingOn(dest, vm, vm.host!);
    expect(await claimResources(cluster.ds, { consumer_uuid: vm.uuid, host: dest, ...flavorResources(tiny) })).toBe(true);
    await cluster.waitUntil(async () => !(await held(dest, vm.uuid)), 15_000);
    await cluster.waitUntil(async () => (await listAllocations(cluster.ds, { consumer_uuid: vm.uuid, host: dest })).length === 0, 15_000);
    expect((await cluster.driver(vm.host!).getVm(vm.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
    expect((await listAllocations(cluster.ds, { consumer_uuid: vm.uuid })).map((a) => a.host)).toEqual([vm.host]);
  });

  it('removes a disk a failed cold move copied in, once the host the database names shows its copy', async () => {
    const vm = await buildServer();
    const dest = otherHost(vm.host!);
    await writeFile(await cluster.driver(dest).prepareIncoming(vm.uuid), 'half a disk');
    await cluster.waitUntil(async () => !(await held(dest, vm.uuid)), 15_000);
    expect((await cluster.driver(vm.host!).getVm(vm.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
  });

  it('keeps a copied-in disk when the host the database names has no copy: it may be the only one left', async () => {
    const vm = await buildServer();
    const dest = otherHost(vm.host!);
    await writeFile(await cluster.driver(dest).prepareIncoming(vm.uuid), 'the only disk');
    await cluster.driver(vm.host!).destroy(vm.uuid);
    await afterSweeps();
    expect(await held(dest, vm.uuid)).toBe(true);
  });

  it('never touches a guest that runs on a host the database does not name, nor anything of an instance it does not know', async () => {
    const vm = await buildServer();
    const other = otherHost(vm.host!);
    await cluster.driver(other).spawn(spec(vm));
    const unknown = { uuid: randomUUID() };
    await incomingOn(other, unknown, vm.host!);
    await afterSweeps();
    expect((await cluster.driver(other).getVm(vm.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
    expect((await cluster.driver(vm.host!).getVm(vm.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
    expect(await held(other, unknown.uuid)).toBe(true);
  });

  it('leaves an incoming VM alone while its move is open', async () => {
    const vm = await buildServer();
    const dest = otherHost(vm.host!);
    await createMigration(cluster.ds, {
      instance_uuid: vm.uuid, migration_type: 'live-migration', status: 'accepted', source_compute: vm.host!, dest_compute: dest,
    }, 'api');
    await incomingOn(dest, vm, vm.host!);
    await afterSweeps();
    expect(await held(dest, vm.uuid)).toBe(true);
  });
});
