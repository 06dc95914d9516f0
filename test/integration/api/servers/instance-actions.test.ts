// GET /servers/{id}/os-instance-actions[/{request_id}]: the action log per microversion and per caller.
import { createHash } from 'node:crypto';
import { InstanceAction, InstanceActionEvent, type Instance } from '@ferry/common/db';
import { ApiHarness, PUBLIC_URL, serverBody } from './support';

describe('os-instance-actions', () => {
  let h: ApiHarness;

  beforeAll(async () => {
    h = await ApiHarness.start();
  });
  afterAll(async () => {
    await h?.close();
  });

  /** An action with a successful and a failed event on compute-1, `minutesAgo` old. */
  async function recordAction(vm: Instance, action: string, minutesAgo: number): Promise<InstanceAction> {
    const at = new Date(Date.now() - minutesAgo * 60_000);
    const saved = await h.ds.getRepository(InstanceAction).save({
      action, instance_uuid: vm.uuid, request_id: `req-${action}-${minutesAgo}-${vm.uuid.slice(0, 8)}`, user_id: 'u-alice', project_id: 'p-one',
      start_time: at, finish_time: at, message: null, created_at: at, updated_at: at,
    });
    await h.ds.query('UPDATE instance_actions SET created_at = $2, updated_at = $2 WHERE id = $1', [saved.id, at]);
    const events = h.ds.getRepository(InstanceActionEvent);
    await events.save({ action_id: saved.id, event: `compute_${action}_instance`, start_time: at, finish_time: at, result: 'Success', host: 'compute-1', traceback: null, details: null });
    await events.save({ action_id: saved.id, event: 'cleanup', start_time: at, finish_time: at, result: 'Error', host: 'compute-1', traceback: 'Traceback: boom', details: 'boom' });
    return (await h.ds.getRepository(InstanceAction).findOneByOrFail({ id: saved.id }));
  }

  it('lists the actions the API opened, newest first, with updated_at from 2.58', async () => {
    const created = await h.request('alice', 'POST', '/servers', { body: serverBody() });
    const id = created.body.server.id;
    await h.ds.query(`UPDATE instances SET vm_state = 'active', task_state = NULL, host = 'compute-1', launched_at = now() WHERE uuid = $1`, [id]);
    expect((await h.request('alice', 'POST', `/servers/${id}/action`, { body: { 'os-stop': null } })).status).toBe(202);

    const list = await h.request('alice', 'GET', `/servers/${id}/os-instance-actions`);
    expect(list.status).toBe(200);
    expect(list.body.instanceActions.map((a: { action: string }) => a.action)).toEqual(['stop', 'create']);
    expect(Object.keys(list.body.instanceActions[0]).sort()).toEqual(['action', 'instance_uuid', 'message', 'project_id', 'request_id', 'start_time', 'user_id']);
    expect(list.body.instanceActions[0]).toMatchObject({
      instance_uuid: id, user_id: 'u-alice', project_id: 'p-one', message: null, start_time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/),
    });
    const at258 = await h.request('alice', 'GET', `/servers/${id}/os-instance-actions`, { version: '2.58' });
    expect(at258.body.instanceActions[0]).toHaveProperty('updated_at');
    expect(at258.body).not.toHaveProperty('links');
  });

  it('shows events to admins always, to owners from 2.51 without traceback; host from 2.62 (admin), hostId from 2.62', async () => {
    const vm = await h.insertInstance();
    const action = await recordAction(vm, 'reboot', 1);
    const show = (who: 'alice' | 'admin', version: string) => h.request(who, 'GET', `/servers/${vm.uuid}/os-instance-actions/${action.request_id}`, { version });

    const member250 = await show('alice', '2.50');
    expect(member250.status).toBe(200);
    expect(member250.body.instanceAction).toMatchObject({ action: 'reboot', request_id: action.request_id });
    expect(member250.body.instanceAction).not.toHaveProperty('events');

    const member251 = (await show('alice', '2.51')).body.instanceAction;
    expect(member251.events).toEqual([
      { event: 'compute_reboot_instance', start_time: expect.any(String), finish_time: expect.any(String), result: 'Success' },
      { event: 'cleanup', start_time: expect.any(String), finish_time: expect.any(String), result: 'Error' },
    ]);
    const admin21 = (await show('admin', '2.1')).body.instanceAction;
    expect(admin21.events[1]).toEqual({ event: 'cleanup', start_time: expect.any(String), finish_time: expect.any(String), result: 'Error', traceback: 'Traceback: boom' });

    const hashed = createHash('sha224').update('p-onecompute-1').digest('hex');
    const member262 = (await show('alice', '2.62')).body.instanceAction;
    expect(member262.events[0]).toEqual(expect.objectContaining({ hostId: hashed }));
    expect(member262.events[0]).not.toHaveProperty('host');
    const admin262 = (await show('admin', '2.62')).body.instanceAction;
    expect(admin262.events[0]).toMatchObject({ host: 'compute-1', hostId: hashed, traceback: null });
  });

  it('is a 404 for an unknown request id, another project, or (before 2.21) a deleted server', async () => {
    const vm = await h.insertInstance();
    const action = await recordAction(vm, 'pause', 1);
    expect(await h.request('alice', 'GET', `/servers/${vm.uuid}/os-instance-actions/req-nope`)).toMatchObject({
      status: 404, body: { itemNotFound: { message: 'Action req-nope not found' } },
    });
    expect((await h.request('bob', 'GET', `/servers/${vm.uuid}/os-instance-actions`)).status).toBe(404);
    expect((await h.request('bob', 'GET', `/servers/${vm.uuid}/os-instance-actions/${action.request_id}`)).status).toBe(404);
    await h.ds.query('UPDATE instances SET deleted_at = now(), vm_state = $2 WHERE uuid = $1', [vm.uuid, 'deleted']);
    expect((await h.request('alice', 'GET', `/servers/${vm.uuid}/os-instance-actions`, { version: '2.20' })).status).toBe(404);
    const at221 = await h.request('alice', 'GET', `/servers/${vm.uuid}/os-instance-actions`, { version: '2.21' });
    expect(at221.body.instanceActions.map((a: { action: string }) => a.action)).toEqual(['pause']);
  });

  it('pages by request id from 2.58 with a next link, and filters by changes-since (and changes-before from 2.66)', async () => {
    const vm = await h.insertInstance();
    const [a40, a30, a20, a10] = [await recordAction(vm, 'stop', 40), await recordAction(vm, 'start', 30), await recordAction(vm, 'pause', 20), await recordAction(vm, 'unpause', 10)];
    const base = `/servers/${vm.uuid}/os-instance-actions`;
    const first = await h.request('alice', 'GET', `${base}?limit=2`, { version: '2.58' });
    expect(first.body.instanceActions.map((a: { request_id: string }) => a.request_id)).toEqual([a10!.request_id, a20!.request_id]);
    expect(first.body.links).toEqual([{ rel: 'next', href: `${PUBLIC_URL}/compute/v2.1${base}?limit=2&marker=${a20!.request_id}` }]);
    const second = await h.request('alice', 'GET', `${base}?limit=2&marker=${a20!.request_id}`, { version: '2.58' });
    expect(second.body.instanceActions.map((a: { request_id: string }) => a.request_id)).toEqual([a30!.request_id, a40!.request_id]);
    const third = await h.request('alice', 'GET', `${base}?limit=2&marker=${a40!.request_id}`, { version: '2.58' });
    expect(third.body).toEqual({ instanceActions: [] });

    const since = new Date(Date.now() - 25 * 60_000).toISOString();
    const recent = await h.request('alice', 'GET', `${base}?changes-since=${since}`, { version: '2.58' });
    expect(recent.body.instanceActions.map((a: { action: string }) => a.action)).toEqual(['unpause', 'pause']);
    const older = await h.request('alice', 'GET', `${base}?changes-before=${since}`, { version: '2.66' });
    expect(older.body.instanceActions.map((a: { action: string }) => a.action)).toEqual(['start', 'stop']);

    expect((await h.request('alice', 'GET', `${base}?marker=req-nope`, { version: '2.58' }))).toMatchObject({ status: 400, body: { badRequest: { message: 'Marker req-nope could not be found.' } } });
    expect((await h.request('alice', 'GET', `${base}?changes-before=${since}`, { version: '2.65' })).status).toBe(400);
    expect((await h.request('alice', 'GET', `${base}?color=red`, { version: '2.58' })).status).toBe(400);
    // Before 2.58 the list neither pages nor minds unknown parameters.
    expect((await h.request('alice', 'GET', `${base}?limit=1&color=red`, { version: '2.57' })).body.instanceActions).toHaveLength(4);
  });
});
