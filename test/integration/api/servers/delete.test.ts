// DELETE /servers/{id}: terminate through the host's compute when it is up, delete locally when no compute will.
import { Allocation, InstanceAction, type Instance } from '@ferry/common/db';
import { createTransport } from '@ferry/common/rpc';
import { ApiHarness } from './support';

describe('DELETE /servers/{id}', () => {
  let h: ApiHarness;

  beforeAll(async () => {
    h = await ApiHarness.start();
  });
  afterAll(async () => {
    await h?.close();
  });

  const del = (who: 'alice' | 'bob' | 'admin', instance: Instance) => h.request(who, 'DELETE', `/servers/${instance.uuid}`);
  const actionsOf = (uuid: string) => h.ds.getRepository(InstanceAction).find({ where: { instance_uuid: uuid } });
  const claim = (instance: Instance, host: string) => h.ds.getRepository(Allocation).save({ consumer_uuid: instance.uuid, host, vcpus: 1, memory_mb: 512, disk_gb: 1 });
  const claimsOf = (uuid: string) => h.ds.getRepository(Allocation).find({ where: { consumer_uuid: uuid } });
  const terminateCasts = async (uuid: string, wait = true) =>
    (wait ? await h.castsOf('terminate_instance', 1) : h.casts).filter((c) => c.method === 'terminate_instance' && c.args.instance_uuid === uuid);

  it('casts terminate_instance to the host when its compute service is up, leaving the rest to it', async () => {
    const vm = await h.insertInstance({ host: 'compute-2', node: 'compute-2.local' });
    await claim(vm, 'compute-2');
    const res = await del('alice', vm);
    expect(res.status).toBe(204);
    expect(res.body).toBeUndefined();
    expect(await h.instance(vm.uuid)).toMatchObject({ task_state: 'deleting', vm_state: 'active', deleted_at: null });
    const casts = await terminateCasts(vm.uuid);
    expect(casts).toEqual([expect.objectContaining({ topic: 'compute', server: 'compute-2', args: { instance_uuid: vm.uuid } })]);
    const actions = await actionsOf(vm.uuid);
    expect(actions).toEqual([expect.objectContaining({ action: 'delete', finish_time: null, request_id: casts[0]!.ctx.request_id })]);
    expect(await claimsOf(vm.uuid)).toHaveLength(1);
  });

  it('deletes a never-scheduled server locally: no cast, claims freed, row soft-deleted, action finished', async () => {
    const vm = await h.insertInstance({ host: null, node: null, vm_state: 'building', task_state: 'scheduling', launched_at: null, power_state: 0 });
    await claim(vm, 'compute-1');
    expect((await del('alice', vm)).status).toBe(204);
    expect(await h.instance(vm.uuid)).toMatchObject({ vm_state: 'deleted', task_state: null, power_state: 0, deleted_at: expect.any(Date) });
    expect(await claimsOf(vm.uuid)).toEqual([]);
    expect(await actionsOf(vm.uuid)).toEqual([expect.objectContaining({ action: 'delete', finish_time: expect.any(Date) })]);
    expect(await terminateCasts(vm.uuid, false)).toEqual([]);
    expect((await h.request('alice', 'GET', `/servers/${vm.uuid}`)).status).toBe(404);
    const deleted = await h.request('admin', 'GET', `/servers/detail?all_tenants=1&deleted=true&uuid=${vm.uuid}`);
    expect(deleted.body.servers).toEqual([expect.objectContaining({ id: vm.uuid, status: 'DELETED', 'OS-SRV-USG:terminated_at': expect.any(String) })]);
  });

  it('deletes locally when the host compute service is down, or the host has none', async () => {
    await h.setServiceDown('compute-1', true);
    try {
      const vm = await h.insertInstance({ host: 'compute-1' });
      await claim(vm, 'compute-1');
      expect((await del('alice', vm)).status).toBe(204);
      expect(await h.instance(vm.uuid)).toMatchObject({ vm_state: 'deleted', deleted_at: expect.any(Date) });
      expect(await claimsOf(vm.uuid)).toEqual([]);
      expect(await terminateCasts(vm.uuid, false)).toEqual([]);
    } finally {
      await h.setServiceDown('compute-1', false);
    }
    const orphan = await h.insertInstance({ host: 'retired-host' });
    expect((await del('alice', orphan)).status).toBe(204);
    expect((await h.instance(orphan.uuid))!.deleted_at).not.toBeNull();
  });

  it('deletes a server in ERROR through its host', async () => {
    const vm = await h.insertInstance({ vm_state: 'error' });
    expect((await del('alice', vm)).status).toBe(204);
    expect(await terminateCasts(vm.uuid)).toHaveLength(1);
  });

  it('refuses a repeat of a delete in progress, drives a stale one again, and 404s one of a server already gone', async () => {
    const vm = await h.insertInstance({ host: 'compute-2' });
    expect((await del('alice', vm)).status).toBe(204);
    expect(await del('alice', vm)).toMatchObject({ status: 409, body: { conflictingRequest: { message: `Instance ${vm.uuid} is already being deleted` } } });
    expect(await terminateCasts(vm.uuid)).toHaveLength(1);
    expect((await actionsOf(vm.uuid)).map((a) => a.action)).toEqual(['delete']);
    // Nothing advanced the delete for longer than FERRY_DELETE_RETRY_AFTER (its message lost): a repeat drives it again.
    await h.ds.query(`UPDATE instances SET updated_at = now() - interval '2 minutes' WHERE uuid = $1`, [vm.uuid]);
    expect((await del('alice', vm)).status).toBe(204);
    expect(await terminateCasts(vm.uuid)).toHaveLength(2);
    expect((await del('alice', vm)).status).toBe(409);
    const gone = await h.insertInstance({ vm_state: 'deleted', deleted_at: new Date() });
    expect((await del('alice', gone)).status).toBe(404);
  });

  it('refuses a locked server (unless admin), whatever its task, and other projects', async () => {
    const locked = await h.insertInstance({ locked: true, locked_by: 'admin' });
    expect(await del('alice', locked)).toMatchObject({ status: 409, body: { conflictingRequest: { message: `Instance ${locked.uuid} is locked` } } });
    const lockedBusy = await h.insertInstance({ locked: true, locked_by: 'admin', task_state: 'resize_migrating' });
    expect((await del('alice', lockedBusy)).status).toBe(409);
    const foreign = await h.insertInstance({ owner: 'bob' });
    expect((await del('alice', foreign)).status).toBe(404);
    for (const vm of [locked, lockedBusy, foreign]) {
      const row = (await h.instance(vm.uuid))!;
      expect({ task: row.task_state, deleted: row.deleted_at }).toEqual({ task: vm.task_state, deleted: null });
      expect(await actionsOf(vm.uuid)).toEqual([]);
    }
    expect((await del('admin', locked)).status).toBe(204);
  });

  it.each([
    'scheduling', 'spawning', 'resize_prep', 'resize_migrating', 'resize_migrated', 'resize_finish', 'resize_reverting', 'migrating',
    'powering-off', 'powering-on', 'rebooting', 'rebooting_hard', 'pausing', 'unpausing', 'rescuing', 'unrescuing',
  ])('accepts a delete in task_state %s, as Nova does, and casts terminate_instance to the host the instance names', async (task) => {
    const vm = await h.insertInstance({ host: 'compute-2', node: 'compute-2.local', task_state: task });
    expect((await del('alice', vm)).status).toBe(204);
    expect(await h.instance(vm.uuid)).toMatchObject({ task_state: 'deleting', deleted_at: null });
    await h.castsOf('terminate_instance', 1);
    expect(h.casts.filter((c) => c.method === 'terminate_instance' && c.args.instance_uuid === vm.uuid)).toEqual([
      expect.objectContaining({ server: 'compute-2' }),
    ]);
    expect(await actionsOf(vm.uuid)).toEqual([expect.objectContaining({ action: 'delete' })]);
  });

  it('ends the move of a server whose host is down, frees every claim, and asks the other host of the move to drop its copy', async () => {
    await h.setServiceDown('compute-1', true);
    try {
      const vm = await h.insertInstance({ host: 'compute-1', task_state: 'resize_migrating' });
      const m = await h.insertMigration({ instance_uuid: vm.uuid, migration_type: 'migration', status: 'migrating' });
      await claim(vm, 'compute-1');
      await claim(vm, 'compute-2');
      expect((await del('alice', vm)).status).toBe(204);
      expect(await h.instance(vm.uuid)).toMatchObject({ vm_state: 'deleted', task_state: null, deleted_at: expect.any(Date) });
      expect(await h.migration(m.id)).toMatchObject({ status: 'error', last_error: 'Instance deleted during the move' });
      expect(await claimsOf(vm.uuid)).toEqual([]);
      const casts = (await h.castsOf('terminate_instance', 1)).filter((c) => c.args.instance_uuid === vm.uuid);
      expect(casts).toEqual([expect.objectContaining({ server: 'compute-2' })]);
    } finally {
      await h.setServiceDown('compute-1', false);
    }
  });

  it('lets a delete win over a stop sent with it: the stop is either overtaken or refused', async () => {
    const vm = await h.insertInstance();
    const [d, s] = await Promise.all([del('alice', vm), h.request('alice', 'POST', `/servers/${vm.uuid}/action`, { body: { 'os-stop': null } })]);
    expect(d.status).toBe(204);
    expect([202, 409]).toContain(s.status);
    expect(await h.instance(vm.uuid)).toMatchObject({ task_state: 'deleting' });
    expect(await actionsOf(vm.uuid)).toHaveLength(s.status === 202 ? 2 : 1);
  });

  it('puts a settled server back when the bus refuses the terminate cast (503)', async () => {
    const vm = await h.insertInstance();
    const broken = await createTransport({ url: 'inproc://delete-broken' });
    await broken.close();
    const original = h.transport.cast.bind(h.transport);
    h.transport.cast = (...args) => broken.cast(...args);
    try {
      expect((await del('alice', vm)).status).toBe(503);
    } finally {
      h.transport.cast = original;
    }
    expect(await h.instance(vm.uuid)).toMatchObject({ task_state: null, deleted_at: null });
  });
});
