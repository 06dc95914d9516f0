// POST /servers/{id}/action: each power action's preconditions, policy, os-resetState, and racing requests.
import { InstanceAction, type Instance } from '@ferry/common/db';
import { createTransport } from '@ferry/common/rpc';
import { ApiHarness, type Who } from './support';

describe('POST /servers/{id}/action', () => {
  let h: ApiHarness;

  beforeAll(async () => {
    h = await ApiHarness.start();
  });
  afterAll(async () => {
    await h?.close();
  });

  const act = (who: Who, instance: Instance, body: unknown, version?: string) => h.request(who, 'POST', `/servers/${instance.uuid}/action`, { body, version });
  const actionsOf = (uuid: string) => h.ds.getRepository(InstanceAction).find({ where: { instance_uuid: uuid }, order: { id: 'ASC' } });
  const castsFor = async (method: string, uuid: string) => (await h.castsOf(method, 1)).filter((c) => c.args.instance_uuid === uuid);

  describe('accepts each action from the states Nova allows', () => {
    const cases: [string, Partial<Instance>, unknown, string, string, Record<string, unknown>][] = [
      ['os-stop an active server', { vm_state: 'active' }, { 'os-stop': null }, 'powering-off', 'stop_instance', {}],
      ['os-stop a server in error', { vm_state: 'error' }, { 'os-stop': null }, 'powering-off', 'stop_instance', {}],
      ['os-start a stopped server', { vm_state: 'stopped', power_state: 4 }, { 'os-start': null }, 'powering-on', 'start_instance', {}],
      ['reboot (soft) an active server', { vm_state: 'active' }, { reboot: { type: 'SOFT' } }, 'rebooting', 'reboot_instance', { reboot_type: 'SOFT' }],
      ['reboot (hard) a stopped server', { vm_state: 'stopped' }, { reboot: { type: 'hard' } }, 'rebooting_hard', 'reboot_instance', { reboot_type: 'HARD' }],
      ['reboot (hard) a server in the middle of a soft reboot', { task_state: 'rebooting' }, { reboot: { type: 'HARD' } }, 'rebooting_hard', 'reboot_instance', { reboot_type: 'HARD' }],
      ['pause an active server', { vm_state: 'active' }, { pause: null }, 'pausing', 'pause_instance', {}],
      ['unpause a paused server', { vm_state: 'paused', power_state: 3 }, { unpause: null }, 'unpausing', 'unpause_instance', {}],
      ['suspend an active server', { vm_state: 'active' }, { suspend: null }, 'suspending', 'suspend_instance', {}],
      ['resume a suspended server', { vm_state: 'suspended', power_state: 7 }, { resume: null }, 'resuming', 'resume_instance', {}],
    ];
    it.each(cases)('%s', async (_label, state, body, task, method, args) => {
      const vm = await h.insertInstance({ ...state, host: 'compute-2', node: 'compute-2.local' });
      const res = await act('alice', vm, body);
      expect(res.status).toBe(202);
      expect(res.body).toBeUndefined();
      expect((await h.instance(vm.uuid))!.task_state).toBe(task);
      const actions = await actionsOf(vm.uuid);
      const name = Object.keys(body as object)[0]!.replace(/^os-/, '');
      expect(actions).toEqual([expect.objectContaining({ action: name, user_id: 'u-alice', project_id: 'p-one', finish_time: null })]);
      const casts = await castsFor(method, vm.uuid);
      expect(casts).toEqual([expect.objectContaining({ topic: 'compute', server: 'compute-2', args: { instance_uuid: vm.uuid, ...args } })]);
      expect(casts[0]!.ctx.request_id).toBe(actions[0]!.request_id);
    });
  });

  describe("refuses with Nova's 409 when the server cannot take the action now", () => {
    const cases: [string, Partial<Instance>, unknown, RegExp][] = [
      ['os-stop a stopped server', { vm_state: 'stopped' }, { 'os-stop': null }, /^Cannot 'stop' instance \S+ while it is in vm_state stopped$/],
      ['os-start an active server', { vm_state: 'active' }, { 'os-start': null }, /^Cannot 'start' instance \S+ while it is in vm_state active$/],
      ['os-stop a server that is powering off', { task_state: 'powering-off' }, { 'os-stop': null }, /^Cannot 'stop' instance \S+ while it is in task_state powering-off$/],
      ['reboot (soft) a server already rebooting', { task_state: 'rebooting' }, { reboot: { type: 'SOFT' } }, /while it is in task_state rebooting$/],
      ['reboot (soft) a stopped server', { vm_state: 'stopped' }, { reboot: { type: 'SOFT' } }, /^Cannot 'reboot' instance \S+ while it is in vm_state stopped$/],
      ['reboot (hard) a server being resized', { task_state: 'resize_migrating' }, { reboot: { type: 'HARD' } }, /task_state resize_migrating$/],
      ['pause a paused server', { vm_state: 'paused' }, { pause: null }, /^Cannot 'pause' instance \S+ while it is in vm_state paused$/],
      ['unpause an active server', { vm_state: 'active' }, { unpause: null }, /^Cannot 'unpause' instance \S+ while it is in vm_state active$/],
      ['os-stop a server still building', { vm_state: 'building', task_state: 'scheduling', host: null }, { 'os-stop': null }, /^Instance \S+ is not ready$/],
      ['pause a server that never launched', { launched_at: null }, { pause: null }, /while it is in launched_at None$/],
      ['os-stop a locked server', { locked: true, locked_by: 'admin' }, { 'os-stop': null }, /^Instance \S+ is locked$/],
      ['suspend a stopped server', { vm_state: 'stopped', power_state: 4 }, { suspend: null }, /^Cannot 'suspend' instance \S+ while it is in vm_state stopped$/],
      ['suspend a paused server', { vm_state: 'paused', power_state: 3 }, { suspend: null }, /^Cannot 'suspend' instance \S+ while it is in vm_state paused$/],
      ['suspend a suspended server', { vm_state: 'suspended', power_state: 7 }, { suspend: null }, /^Cannot 'suspend' instance \S+ while it is in vm_state suspended$/],
      ['suspend a server that is pausing', { task_state: 'pausing' }, { suspend: null }, /^Cannot 'suspend' instance \S+ while it is in task_state pausing$/],
      ['resume an active server', { vm_state: 'active' }, { resume: null }, /^Cannot 'resume' instance \S+ while it is in vm_state active$/],
      ['resume a server already resuming', { vm_state: 'suspended', task_state: 'resuming' }, { resume: null }, /^Cannot 'resume' instance \S+ while it is in task_state resuming$/],
      ['suspend a locked server', { locked: true, locked_by: 'admin' }, { suspend: null }, /^Instance \S+ is locked$/],
      ['resume a locked server', { vm_state: 'suspended', locked: true, locked_by: 'admin' }, { resume: null }, /^Instance \S+ is locked$/],
    ];
    it.each(cases)('%s', async (_label, state, body, message) => {
      const vm = await h.insertInstance(state);
      const res = await act('alice', vm, body);
      expect(res).toMatchObject({ status: 409, body: { conflictingRequest: { code: 409, message: expect.stringMatching(message) } } });
      const after = (await h.instance(vm.uuid))!;
      expect({ vm_state: after.vm_state, task_state: after.task_state }).toEqual({ vm_state: vm.vm_state, task_state: vm.task_state });
      expect(await actionsOf(vm.uuid)).toEqual([]);
    });

    it('lets an admin act on a locked server', async () => {
      const vm = await h.insertInstance({ owner: 'alice', locked: true, locked_by: 'owner' });
      expect((await act('admin', vm, { 'os-stop': null })).status).toBe(202);
    });
  });

  describe('refuses malformed bodies with 400', () => {
    const cases: [string, unknown, RegExp][] = [
      ['an unknown action', { fly: null }, /^There is no such action: fly$/],
      ['two actions at once', { 'os-stop': null, pause: null }, /^Malformed request body$/],
      ['no action', {}, /^Malformed request body$/],
      ['a reboot without a type', { reboot: {} }, /'type' is a required property/],
      ['a reboot of an unknown type', { reboot: { type: 'WARM' } }, /reboot\.type/],
      ['a reboot with an extra key', { reboot: { type: 'SOFT', when: 'now' } }, /'when' was unexpected/],
      ['a reset to an unknown state', { 'os-resetState': { state: 'stopped' } }, /os-resetState\.state/],
    ];
    it.each(cases)('%s', async (_label, body, message) => {
      const vm = await h.insertInstance();
      const res = await act('admin', vm, body);
      expect(res).toMatchObject({ status: 400, body: { badRequest: { code: 400, message: expect.stringMatching(message) } } });
      expect((await h.instance(vm.uuid))!.task_state).toBeNull();
    });
  });

  describe('policy', () => {
    it("is a 404 for another project's server, before anything else is looked at", async () => {
      const vm = await h.insertInstance({ owner: 'bob' });
      expect((await act('alice', vm, { 'os-stop': null })).status).toBe(404);
      expect((await act('alice', vm, { 'os-resetState': { state: 'error' } })).status).toBe(404);
      expect((await h.request('alice', 'POST', '/servers/not-a-uuid/action', { body: { 'os-stop': null } })).status).toBe(404);
      expect((await h.instance(vm.uuid))!.task_state).toBeNull();
    });

    it('lets a project member act on a server another member of the project created', async () => {
      const vm = await h.insertInstance({ owner: 'carol' });
      expect((await act('alice', vm, { pause: null })).status).toBe(202);
    });

    it("lets the owner or an admin suspend and resume; another project's server is a 404", async () => {
      const bobs = await h.insertInstance({ owner: 'bob' });
      expect((await act('alice', bobs, { suspend: null })).status).toBe(404);
      expect((await h.instance(bobs.uuid))!.task_state).toBeNull();
      expect((await act('admin', bobs, { suspend: null })).status).toBe(202);
      const suspended = await h.insertInstance({ owner: 'bob', vm_state: 'suspended', power_state: 7 });
      expect((await act('alice', suspended, { resume: null })).status).toBe(404);
      expect((await act('bob', suspended, { resume: null })).status).toBe(202);
      expect((await h.instance(suspended.uuid))!.task_state).toBe('resuming');
    });

    it('shows a suspended server as SUSPENDED, and as SUSPENDED still while it resumes', async () => {
      const vm = await h.insertInstance({ vm_state: 'suspended', power_state: 7 });
      const shown = await h.request('alice', 'GET', `/servers/${vm.uuid}`);
      expect(shown.body.server).toMatchObject({ status: 'SUSPENDED', 'OS-EXT-STS:vm_state': 'suspended', 'OS-EXT-STS:power_state': 7 });
      expect((await act('alice', vm, { resume: null })).status).toBe(202);
      expect((await h.request('alice', 'GET', `/servers/${vm.uuid}`)).body.server).toMatchObject({ status: 'SUSPENDED', 'OS-EXT-STS:task_state': 'resuming' });
    });

    it('allows os-resetState to admins only: 403 for the owner', async () => {
      const vm = await h.insertInstance({ task_state: 'powering-off' });
      const res = await act('alice', vm, { 'os-resetState': { state: 'active' } });
      expect(res).toMatchObject({ status: 403, body: { forbidden: { message: "Policy doesn't allow os_compute_api:os-admin-actions:reset_state to be performed." } } });
      expect((await h.instance(vm.uuid))!.task_state).toBe('powering-off');
    });
  });

  describe('os-resetState', () => {
    it('writes the vm_state, clears any task, and records a finished resetState action', async () => {
      const stuck = await h.insertInstance({ vm_state: 'active', task_state: 'resize_migrated' });
      expect((await act('admin', stuck, { 'os-resetState': { state: 'error' } })).status).toBe(202);
      expect(await h.instance(stuck.uuid)).toMatchObject({ vm_state: 'error', task_state: null });
      expect(await actionsOf(stuck.uuid)).toEqual([expect.objectContaining({ action: 'resetState', user_id: 'u-admin', finish_time: expect.any(Date) })]);
      expect((await act('admin', stuck, { 'os-resetState': { state: 'active' } })).status).toBe(202);
      expect(await h.instance(stuck.uuid)).toMatchObject({ vm_state: 'active', task_state: null });
      expect(h.casts.filter((c) => c.args.instance_uuid === stuck.uuid)).toEqual([]);
    });

    it("finds any project's server for an admin by its id in any case; a missing or deleted one is a 404 and records nothing", async () => {
      const bobs = await h.insertInstance({ owner: 'bob', vm_state: 'error', task_state: 'rebooting' });
      const upper = await h.request('admin', 'POST', `/servers/${bobs.uuid.toUpperCase()}/action`, { body: { 'os-resetState': { state: 'active' } } });
      expect(upper.status).toBe(202);
      expect(await h.instance(bobs.uuid)).toMatchObject({ vm_state: 'active', task_state: null });
      expect(await actionsOf(bobs.uuid)).toEqual([expect.objectContaining({ action: 'resetState', user_id: 'u-admin', project_id: 'p-admin' })]);

      const missing = '3f0c6a4e-0000-4000-8000-000000000000';
      expect(await h.request('admin', 'POST', `/servers/${missing}/action`, { body: { 'os-resetState': { state: 'error' } } }))
        .toMatchObject({ status: 404, body: { itemNotFound: { message: `Instance ${missing} could not be found.` } } });

      const gone = await h.insertInstance({ vm_state: 'deleted', deleted_at: new Date() });
      expect((await act('admin', gone, { 'os-resetState': { state: 'active' } })).status).toBe(404);
      expect(await h.instance(gone.uuid)).toMatchObject({ vm_state: 'deleted' });
      expect(await actionsOf(gone.uuid)).toEqual([]);
    });

    it('ends the move the reset abandons as error and leaves the action open until it is closed', async () => {
      const vm = await h.insertInstance({ vm_state: 'resized', task_state: null, host: 'compute-2', node: 'compute-2.local' });
      const move = await h.insertMigration({ instance_uuid: vm.uuid, status: 'finished' });
      expect((await act('admin', vm, { 'os-resetState': { state: 'active' } })).status).toBe(202);
      expect(await h.migration(move.id)).toMatchObject({ status: 'error', last_error: 'abandoned by os-resetState' });
      expect(await actionsOf(vm.uuid)).toEqual([expect.objectContaining({ action: 'resetState', finish_time: expect.any(Date) })]);
    });
  });

  describe('racing requests', () => {
    it('accepts exactly one of many simultaneous os-stop requests; the others get 409', async () => {
      const vm = await h.insertInstance();
      const results = await Promise.all(Array.from({ length: 8 }, () => act('alice', vm, { 'os-stop': null })));
      expect(results.map((r) => r.status).sort()).toEqual([202, 409, 409, 409, 409, 409, 409, 409]);
      for (const r of results.filter((x) => x.status === 409)) {
        expect(r.body.conflictingRequest.message).toBe(`Cannot 'stop' instance ${vm.uuid} while it is in task_state powering-off`);
      }
      expect(await actionsOf(vm.uuid)).toHaveLength(1);
      await h.castsOf('stop_instance', 1);
      await new Promise((r) => setTimeout(r, 50));
      expect(await castsFor('stop_instance', vm.uuid)).toHaveLength(1);
    });

    it('accepts exactly one of a stop, a pause and a soft reboot sent together', async () => {
      const vm = await h.insertInstance();
      const results = await Promise.all([{ 'os-stop': null }, { pause: null }, { reboot: { type: 'SOFT' } }].map((b) => act('alice', vm, b)));
      expect(results.filter((r) => r.status === 202)).toHaveLength(1);
      expect(results.filter((r) => r.status === 409)).toHaveLength(2);
      expect(['powering-off', 'pausing', 'rebooting']).toContain((await h.instance(vm.uuid))!.task_state);
      expect(await actionsOf(vm.uuid)).toHaveLength(1);
    });
  });

  it('puts the task back and marks the action failed when the bus refuses the cast (503)', async () => {
    const vm = await h.insertInstance();
    const broken = await createTransport({ url: 'inproc://actions-broken' });
    await broken.close();
    const original = h.transport.cast.bind(h.transport);
    h.transport.cast = (...args) => broken.cast(...args);
    try {
      const res = await act('alice', vm, { 'os-stop': null });
      expect(res.status).toBe(503);
    } finally {
      h.transport.cast = original;
    }
    expect(await h.instance(vm.uuid)).toMatchObject({ vm_state: 'active', task_state: null });
    expect(await actionsOf(vm.uuid)).toEqual([expect.objectContaining({ action: 'stop', message: 'Error', finish_time: expect.any(Date) })]);
    expect((await act('alice', vm, { 'os-stop': null })).status).toBe(202);
  });
});
