// POST /servers/{id}/action for cold moves: resize, migrate, confirmResize, revertResize — preconditions, policy, the
// casts each one sends, racing requests, and how the server looks while its move waits.
import { Allocation, Flavor, InstanceAction, Migration as MigrationRow, type Instance, type InstanceFlavor, type Migration } from '@ferry/common/db';
import { createTransport } from '@ferry/common/rpc';
import { ApiHarness, PUBLIC_URL, USERS, type Cast, type Reply, type Who } from './support';

const TINY: InstanceFlavor = { id: 1, flavorid: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 512, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} };

describe('cold moves through POST /servers/{id}/action', () => {
  let h: ApiHarness;
  /** The classic flavors as an instance embeds them, by flavorid. */
  const flavors = new Map<string, InstanceFlavor>();

  beforeAll(async () => {
    h = await ApiHarness.start();
    for (const f of await h.ds.getRepository(Flavor).find()) {
      flavors.set(f.flavorid, {
        id: f.id, flavorid: f.flavorid, name: f.name, vcpus: f.vcpus, memory_mb: f.memory_mb, root_gb: f.root_gb,
        ephemeral_gb: f.ephemeral_gb, swap: f.swap, extra_specs: f.extra_specs ?? {},
      });
    }
  });
  // Every test starts with empty projects, so what earlier tests left never counts against a quota.
  afterEach(async () => {
    await h.ds.query('UPDATE instances SET deleted_at = now() WHERE deleted_at IS NULL');
  });
  afterAll(async () => {
    await h?.close();
  });

  const flavor = (flavorid: string) => flavors.get(flavorid)!;
  const act = (who: Who, instance: Instance, body: unknown, version?: string) => h.request(who, 'POST', `/servers/${instance.uuid}/action`, { body, version });
  const actionsOf = (uuid: string) => h.ds.getRepository(InstanceAction).find({ where: { instance_uuid: uuid }, order: { id: 'ASC' } });
  /** The casts of method that pred picks, waiting (briefly) until there is at least one. */
  const castsWhere = async (method: string, pred: (c: Cast) => boolean): Promise<Cast[]> => {
    const deadline = Date.now() + 3000;
    for (;;) {
      const found = h.casts.filter((c) => c.method === method && pred(c));
      if (found.length > 0 || Date.now() > deadline) return found;
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const castsFor = (method: string, uuid: string) => castsWhere(method, (c) => c.args.instance_uuid === uuid);
  const castsForMigration = (method: string, m: Migration) => castsWhere(method, (c) => c.args.migration_id === m.id);
  const fault = (res: Reply, status: number, kind: string, message: string | RegExp) => {
    expect({ status: res.status, body: res.body }).toEqual({
      status, body: { [kind]: { code: status, message: typeof message === 'string' ? message : expect.stringMatching(message) } },
    });
  };
  /** A server waiting in VERIFY_RESIZE on compute-2 after a move from compute-1, with its finished migration. */
  const resized = async (fields: Partial<Instance> & { owner?: Who } = {}, migration: Partial<Migration> = {}) => {
    const vm = await h.insertInstance({
      vm_state: 'resized', host: 'compute-2', node: 'compute-2.local', flavor: flavor('2'), old_flavor: TINY, new_flavor: flavor('2'), ...fields,
    });
    const m = await h.insertMigration({ instance_uuid: vm.uuid, old_instance_type_id: TINY.id, new_instance_type_id: flavor('2').id, ...migration });
    return { vm, m };
  };
  /** Sends the compute API's casts into a closed transport for the length of fn (the bus refuses them: 503). */
  const withBrokenBus = async <T>(fn: () => Promise<T>): Promise<T> => {
    const broken = await createTransport({ url: `inproc://moves-broken-${Math.random().toString(16).slice(2)}` });
    await broken.close();
    const original = h.transport.cast.bind(h.transport);
    h.transport.cast = (...args) => broken.cast(...args);
    try {
      return await fn();
    } finally {
      h.transport.cast = original;
    }
  };

  describe('resize', () => {
    it('accepts a resize of an active server: resize_prep with both flavors, a resize action, migrate_server to the scheduler', async () => {
      const vm = await h.insertInstance({ progress: 40 });
      const res = await act('alice', vm, { resize: { flavorRef: '2' } });
      expect(res.status).toBe(202);
      expect(res.body).toBeUndefined();
      expect(await h.instance(vm.uuid)).toMatchObject({ vm_state: 'active', task_state: 'resize_prep', flavor: TINY, old_flavor: TINY, new_flavor: flavor('2'), progress: 0 });
      const actions = await actionsOf(vm.uuid);
      expect(actions).toEqual([expect.objectContaining({ action: 'resize', user_id: 'u-alice', project_id: 'p-one', finish_time: null, message: null })]);
      const casts = await castsFor('migrate_server', vm.uuid);
      expect(casts).toEqual([expect.objectContaining({
        topic: 'scheduler', args: { instance_uuid: vm.uuid, migration_type: 'resize', new_flavor: flavor('2') },
      })]);
      expect(casts[0]!.ctx.request_id).toBe(actions[0]!.request_id);
    });

    it.each([
      ['a flavor link', `${PUBLIC_URL}/compute/v2.1/flavors/3`, '3'],
      ['a bookmark link', `${PUBLIC_URL}/compute/flavors/4`, '4'],
      ['an integer id', 2, '2'],
    ])('accepts a stopped server and flavorRef as %s', async (_label, flavorRef, flavorid) => {
      const vm = await h.insertInstance({ vm_state: 'stopped', power_state: 4 });
      expect((await act('alice', vm, { resize: { flavorRef, 'OS-DCF:diskConfig': 'AUTO' } })).status).toBe(202);
      expect(await h.instance(vm.uuid)).toMatchObject({ vm_state: 'stopped', task_state: 'resize_prep', new_flavor: flavor(flavorid) });
      expect(await castsFor('migrate_server', vm.uuid)).toEqual([expect.objectContaining({ args: expect.objectContaining({ new_flavor: flavor(flavorid) }) })]);
    });

    it('lets an admin resize a member\'s server, and a member one another member of the project created', async () => {
      expect((await act('admin', await h.insertInstance(), { resize: { flavorRef: '2' } })).status).toBe(202);
      expect((await act('alice', await h.insertInstance({ owner: 'carol' }), { resize: { flavorRef: '2' } })).status).toBe(202);
    });

    const conflicts: [string, Partial<Instance>, RegExp][] = [
      ['a paused server', { vm_state: 'paused' }, /^Cannot 'resize' instance \S+ while it is in vm_state paused$/],
      ['a server in error', { vm_state: 'error' }, /^Cannot 'resize' instance \S+ while it is in vm_state error$/],
      ['a server waiting in VERIFY_RESIZE', { vm_state: 'resized' }, /^Cannot 'resize' instance \S+ while it is in vm_state resized$/],
      ['a server being stopped', { task_state: 'powering-off' }, /^Cannot 'resize' instance \S+ while it is in task_state powering-off$/],
      ['a server already being resized', { task_state: 'resize_migrating' }, /^Cannot 'resize' instance \S+ while it is in task_state resize_migrating$/],
      ['a server that never launched', { launched_at: null }, /^Cannot 'resize' instance \S+ while it is in launched_at None$/],
      ['a server with no host', { host: null, node: null }, /^Instance \S+ is not ready$/],
      ['a locked server', { locked: true, locked_by: 'admin' }, /^Instance \S+ is locked$/],
    ];
    it.each(conflicts)('refuses %s with 409', async (_label, state, message) => {
      const vm = await h.insertInstance(state);
      fault(await act('alice', vm, { resize: { flavorRef: '2' } }), 409, 'conflictingRequest', message);
      expect(await h.instance(vm.uuid)).toMatchObject({ vm_state: vm.vm_state, task_state: vm.task_state, new_flavor: null, old_flavor: null });
      expect(await actionsOf(vm.uuid)).toEqual([]);
    });

    it('refuses with 409 while the compute service of the server\'s host is down', async () => {
      const vm = await h.insertInstance({ host: 'compute-2', node: 'compute-2.local' });
      await h.setServiceDown('compute-2', true);
      try {
        fault(await act('alice', vm, { resize: { flavorRef: '2' } }), 409, 'conflictingRequest', 'Service is unavailable at this time.');
        fault(await act('admin', vm, { migrate: null }), 409, 'conflictingRequest', 'Service is unavailable at this time.');
      } finally {
        await h.setServiceDown('compute-2', false);
      }
      expect((await h.instance(vm.uuid))!.task_state).toBeNull();
      expect((await act('alice', vm, { resize: { flavorRef: '2' } })).status).toBe(202);
    });

    it('refuses an unknown, disabled or (for a member) private flavor with 400', async () => {
      await h.ds.getRepository(Flavor).insert([
        { flavorid: 'gone', name: 'gone', vcpus: 1, memory_mb: 512, root_gb: 10, disabled: true },
        { flavorid: 'secret', name: 'secret', vcpus: 1, memory_mb: 512, root_gb: 10, is_public: false },
      ]);
      const vm = await h.insertInstance();
      fault(await act('alice', vm, { resize: { flavorRef: '99' } }), 400, 'badRequest', 'Flavor 99 could not be found.');
      fault(await act('alice', vm, { resize: { flavorRef: 'gone' } }), 400, 'badRequest', 'Flavor gone could not be found.');
      fault(await act('alice', vm, { resize: { flavorRef: 'secret' } }), 400, 'badRequest', 'Flavor secret could not be found.');
      expect((await h.instance(vm.uuid))!.task_state).toBeNull();
      expect((await act('admin', vm, { resize: { flavorRef: 'secret' } })).status).toBe(202);
    });

    it('refuses the flavor the server already has with 400, by id or by link', async () => {
      const vm = await h.insertInstance();
      fault(await act('alice', vm, { resize: { flavorRef: '1' } }), 400, 'badRequest', 'When resizing, instances must change flavor!');
      fault(await act('alice', vm, { resize: { flavorRef: `${PUBLIC_URL}/compute/flavors/1` } }), 400, 'badRequest', 'When resizing, instances must change flavor!');
      fault(await act('alice', vm, { resize: { flavorRef: 1 } }), 400, 'badRequest', 'When resizing, instances must change flavor!');
    });

    it('refuses a flavor with a smaller (or no) root disk with 400', async () => {
      await h.ds.getRepository(Flavor).insert({ flavorid: 'diskless', name: 'diskless', vcpus: 2, memory_mb: 4096, root_gb: 0 });
      const vm = await h.insertInstance({ flavor: flavor('3') });
      fault(await act('alice', vm, { resize: { flavorRef: '2' } }), 400, 'badRequest',
        `Resizing to a smaller disk flavor is not allowed. Flavor 2 has a 20 GB root disk, server ${vm.uuid} has 40 GB.`);
      fault(await act('alice', vm, { resize: { flavorRef: 'diskless' } }), 400, 'badRequest',
        'Server disk was unable to be resized because: Resize to zero disk flavor is not allowed.');
      expect(await h.instance(vm.uuid)).toMatchObject({ task_state: null, new_flavor: null });
    });

    it.each([
      ['no flavorRef', { resize: {} }, /'flavorRef' is a required property|flavorRef/],
      ['an empty flavorRef', { resize: { flavorRef: '' } }, /flavorRef/],
      ['an unknown key', { resize: { flavorRef: '2', size: 'big' } }, /'size' was unexpected|size/],
      ['a bad diskConfig', { resize: { flavorRef: '2', 'OS-DCF:diskConfig': 'SOMETIMES' } }, /diskConfig/],
      ['a null body', { resize: null }, /resize/],
    ])('refuses a body with %s with 400', async (_label, body, message) => {
      const vm = await h.insertInstance();
      fault(await act('alice', vm, body), 400, 'badRequest', message);
      expect((await h.instance(vm.uuid))!.task_state).toBeNull();
    });

    describe('quota', () => {
      const owner: Who = 'bob';

      /** Fills bob's project up to `cores` used (20 allowed). */
      const fillCoresTo = async (cores: number) => {
        const [{ used }] = await h.ds.query(
          `SELECT coalesce(sum((flavor->>'vcpus')::int), 0)::int AS used FROM instances WHERE project_id = $1 AND deleted_at IS NULL`, [USERS[owner].project_id],
        );
        await h.insertInstance({ owner, flavor: { ...TINY, id: 999, flavorid: 'filler', name: 'filler', vcpus: cores - used, memory_mb: 1 } });
      };

      it("refuses an upsize beyond the project's cores with Nova's 403; the increase alone counts", async () => {
        const vm = await h.insertInstance({ owner });
        await fillCoresTo(19);
        fault(await act(owner, vm, { resize: { flavorRef: '4' } }), 403, 'forbidden', 'Quota exceeded for cores: Requested 3, but already used 19 of 20 cores');
        expect((await h.instance(vm.uuid))!.task_state).toBeNull();
        // m1.medium adds one core: exactly fits.
        expect((await act(owner, vm, { resize: { flavorRef: '3' } })).status).toBe(202);
      });

      it('lets a server shrink whatever the project uses', async () => {
        const vm = await h.insertInstance({ owner, flavor: { ...flavor('4'), root_gb: 1 } });
        await fillCoresTo(20);
        expect((await act(owner, vm, { resize: { flavorRef: '2' } })).status).toBe(202);
      });

      it('refuses to revert a resize down that the project no longer has room to grow back', async () => {
        const { vm, m } = await resized({ owner, flavor: flavor('2'), old_flavor: flavor('4') });
        await fillCoresTo(20);
        fault(await act(owner, vm, { revertResize: null }), 403, 'forbidden', 'Quota exceeded for cores: Requested 3, but already used 20 of 20 cores');
        expect((await h.migration(m.id))!.status).toBe('finished');
        expect((await h.instance(vm.uuid))!.task_state).toBeNull();
      });
    });

    it('puts the task and both flavors back and marks the action failed when the bus refuses the cast (503)', async () => {
      const vm = await h.insertInstance();
      const res = await withBrokenBus(() => act('alice', vm, { resize: { flavorRef: '2' } }));
      expect(res.status).toBe(503);
      expect(await h.instance(vm.uuid)).toMatchObject({ vm_state: 'active', task_state: null, flavor: TINY, old_flavor: null, new_flavor: null });
      expect(await actionsOf(vm.uuid)).toEqual([expect.objectContaining({ action: 'resize', message: 'Error', finish_time: expect.any(Date) })]);
      expect((await act('alice', vm, { resize: { flavorRef: '2' } })).status).toBe(202);
    });

    it('accepts exactly one of many simultaneous resizes and migrations', async () => {
      const vm = await h.insertInstance();
      const bodies = [...Array.from({ length: 5 }, () => ({ resize: { flavorRef: '2' } })), ...Array.from({ length: 3 }, () => ({ migrate: null }))];
      const results = await Promise.all(bodies.map((b) => act('admin', vm, b)));
      expect(results.map((r) => r.status).sort()).toEqual([202, 409, 409, 409, 409, 409, 409, 409]);
      for (const r of results.filter((x) => x.status === 409)) expect(r.body.conflictingRequest.message).toMatch(/while it is in task_state resize_prep$/);
      expect(await actionsOf(vm.uuid)).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 50));
      expect(await castsFor('migrate_server', vm.uuid)).toHaveLength(1);
    });
  });

  describe('migrate', () => {
    it('accepts {"migrate": null} from an admin: resize_prep with the flavor unchanged, a migrate action, no host', async () => {
      const vm = await h.insertInstance({ vm_state: 'stopped', power_state: 4 });
      const res = await act('admin', vm, { migrate: null });
      expect(res.status).toBe(202);
      expect(res.body).toBeUndefined();
      expect(await h.instance(vm.uuid)).toMatchObject({ vm_state: 'stopped', task_state: 'resize_prep', flavor: TINY, old_flavor: TINY, new_flavor: TINY });
      expect(await actionsOf(vm.uuid)).toEqual([expect.objectContaining({ action: 'migrate', user_id: 'u-admin', finish_time: null })]);
      expect(await castsFor('migrate_server', vm.uuid)).toEqual([expect.objectContaining({
        topic: 'scheduler', args: { instance_uuid: vm.uuid, migration_type: 'migration', new_flavor: TINY },
      })]);
    });

    it('passes the host asked for from 2.56; null or no host lets the scheduler choose', async () => {
      const [a, b, c] = [await h.insertInstance(), await h.insertInstance(), await h.insertInstance()];
      expect((await act('admin', a, { migrate: { host: 'compute-2' } }, '2.56')).status).toBe(202);
      expect((await act('admin', b, { migrate: { host: null } }, '2.56')).status).toBe(202);
      expect((await act('admin', c, { migrate: {} }, 'latest')).status).toBe(202);
      expect((await castsFor('migrate_server', a.uuid))[0]!.args).toEqual({ instance_uuid: a.uuid, migration_type: 'migration', new_flavor: TINY, host: 'compute-2' });
      expect((await castsFor('migrate_server', b.uuid))[0]!.args).not.toHaveProperty('host');
      expect((await castsFor('migrate_server', c.uuid))[0]!.args).not.toHaveProperty('host');
      // The host asked for is kept on the server with the task (for a re-drive of a lost cast); none clears an older one.
      expect((await h.instance(a.uuid))!.system_metadata).toMatchObject({ move_requested_host: 'compute-2' });
      expect((await h.instance(b.uuid))!.system_metadata).not.toHaveProperty('move_requested_host');
    });

    it.each([
      ['{}', {}, undefined],
      ['null', null, '2.55'],
      ['a host, which it ignores', { host: 'compute-2' }, '2.55'],
      ['an unknown key', { force: true }, '2.1'],
      ['a string', 'compute-2', '2.55'],
    ])('before 2.56 accepts any value of migrate (%s) and lets the scheduler choose, as Nova reads no body there', async (_label, value, version) => {
      const vm = await h.insertInstance();
      expect((await act('admin', vm, { migrate: value }, version)).status).toBe(202);
      expect((await h.instance(vm.uuid))!.task_state).toBe('resize_prep');
      expect((await castsFor('migrate_server', vm.uuid))[0]!.args).toEqual({ instance_uuid: vm.uuid, migration_type: 'migration', new_flavor: TINY });
    });

    it('still answers an owner 403 whatever migrate holds before 2.56', async () => {
      const vm = await h.insertInstance();
      fault(await act('alice', vm, { migrate: {} }), 403, 'forbidden', "Policy doesn't allow os_compute_api:os-migrate-server:migrate to be performed.");
    });

    it.each([
      ['a misspelt key from 2.56', { migrate: { hostname: 'compute-2' } }, '2.56', /migrate/],
      ['an unknown key', { migrate: { host: 'compute-2', force: true } }, '2.56', /migrate/],
      ['a host name with spaces', { migrate: { host: 'compute 2' } }, '2.56', /migrate/],
      ['an empty host name', { migrate: { host: '' } }, '2.56', /migrate/],
      ['a string', { migrate: 'compute-2' }, '2.56', /migrate/],
    ])('refuses %s with 400', async (_label, body, version, message) => {
      const vm = await h.insertInstance();
      fault(await act('admin', vm, body, version), 400, 'badRequest', message);
      expect((await h.instance(vm.uuid))!.task_state).toBeNull();
    });

    it('refuses an unknown host and the server\'s own host with 400', async () => {
      const vm = await h.insertInstance({ host: 'compute-1' });
      fault(await act('admin', vm, { migrate: { host: 'compute-9' } }, '2.56'), 400, 'badRequest', 'Compute host compute-9 could not be found.');
      fault(await act('admin', vm, { migrate: { host: 'compute-1' } }, '2.56'), 400, 'badRequest', 'Cannot migrate to the host where the server exists.');
      expect((await h.instance(vm.uuid))!.task_state).toBeNull();
      expect(await actionsOf(vm.uuid)).toEqual([]);
    });

    it("is admin only: 403 with Nova's policy message for the owner", async () => {
      const vm = await h.insertInstance();
      fault(await act('alice', vm, { migrate: null }), 403, 'forbidden', "Policy doesn't allow os_compute_api:os-migrate-server:migrate to be performed.");
      fault(await act('alice', vm, { migrate: { host: 'compute-2' } }, '2.56'), 403, 'forbidden',
        "Policy doesn't allow os_compute_api:os-migrate-server:migrate:host to be performed.");
      expect((await h.instance(vm.uuid))!.task_state).toBeNull();
    });

    it('refuses a server that cannot move now with the 409 naming migrate', async () => {
      const { vm } = await resized();
      fault(await act('admin', vm, { migrate: null }), 409, 'conflictingRequest', `Cannot 'migrate' instance ${vm.uuid} while it is in vm_state resized`);
      const busy = await h.insertInstance({ task_state: 'rebooting' });
      fault(await act('admin', busy, { migrate: null }), 409, 'conflictingRequest', `Cannot 'migrate' instance ${busy.uuid} while it is in task_state rebooting`);
    });

    it('refuses to move a suspended server cold (migrate or resize) with the 409 naming its vm_state', async () => {
      const vm = await h.insertInstance({ vm_state: 'suspended', power_state: 7 });
      fault(await act('admin', vm, { migrate: null }), 409, 'conflictingRequest', `Cannot 'migrate' instance ${vm.uuid} while it is in vm_state suspended`);
      fault(await act('alice', vm, { resize: { flavorRef: '2' } }), 409, 'conflictingRequest', `Cannot 'resize' instance ${vm.uuid} while it is in vm_state suspended`);
      expect((await h.instance(vm.uuid))!.task_state).toBeNull();
      expect(await actionsOf(vm.uuid)).toEqual([]);
    });
  });

  describe('confirmResize', () => {
    it('claims the finished migration (confirming), records confirmResize and casts confirm_resize to the source: 204', async () => {
      const { vm, m } = await resized();
      const res = await act('alice', vm, { confirmResize: null });
      expect(res.status).toBe(204);
      expect(res.body).toBeUndefined();
      expect((await h.migration(m.id))!.status).toBe('confirming');
      expect(await h.instance(vm.uuid)).toMatchObject({ vm_state: 'resized', task_state: null });
      const actions = await actionsOf(vm.uuid);
      expect(actions).toEqual([expect.objectContaining({ action: 'confirmResize', user_id: 'u-alice', finish_time: null })]);
      const casts = await castsForMigration('confirm_resize', m);
      expect(casts).toEqual([expect.objectContaining({ topic: 'compute', server: 'compute-1', args: { migration_id: m.id } })]);
      expect(casts[0]!.ctx.request_id).toBe(actions[0]!.request_id);
    });

    it('refuses a server with no finished migration with 400 "Instance has not been resized."', async () => {
      const lonely = await h.insertInstance({ vm_state: 'resized' });
      fault(await act('alice', lonely, { confirmResize: null }), 400, 'badRequest', 'Instance has not been resized.');
      const { vm: confirming } = await resized({}, { status: 'confirming' });
      fault(await act('alice', confirming, { confirmResize: null }), 400, 'badRequest', 'Instance has not been resized.');
      const { vm: deleted } = await resized({}, { deleted_at: new Date() });
      fault(await act('alice', deleted, { confirmResize: null }), 400, 'badRequest', 'Instance has not been resized.');
    });

    it.each([
      ['an active server', { vm_state: 'active' }, /^Cannot 'confirmResize' instance \S+ while it is in vm_state active$/],
      ['a server being reverted', { task_state: 'resize_reverting' }, /^Cannot 'confirmResize' instance \S+ while it is in task_state resize_reverting$/],
      ['a locked server', { locked: true, locked_by: 'admin' }, /^Instance \S+ is locked$/],
    ])('refuses %s with 409', async (_label, state, message) => {
      const { vm, m } = await resized(state);
      fault(await act('alice', vm, { confirmResize: null }), 409, 'conflictingRequest', message);
      expect((await h.migration(m.id))!.status).toBe('finished');
      expect(await actionsOf(vm.uuid)).toEqual([]);
    });

    it('refuses with 409 while the source compute service is down, leaving the migration finished', async () => {
      const { vm, m } = await resized();
      await h.setServiceDown('compute-1', true);
      try {
        fault(await act('alice', vm, { confirmResize: null }), 409, 'conflictingRequest', 'Service is unavailable at this time.');
      } finally {
        await h.setServiceDown('compute-1', false);
      }
      expect((await h.migration(m.id))!.status).toBe('finished');
      expect((await act('alice', vm, { confirmResize: null })).status).toBe(204);
    });

    it('stands once the migration is claimed even if the bus refuses the cast (recovery resumes it)', async () => {
      const { vm, m } = await resized();
      const res = await withBrokenBus(() => act('alice', vm, { confirmResize: null }));
      expect(res.status).toBe(204);
      expect((await h.migration(m.id))!.status).toBe('confirming');
    });
  });

  describe('revertResize', () => {
    it('wins resize_reverting and the migration (reverting), records revertResize, casts revert_resize to the destination: 202', async () => {
      const { vm, m } = await resized();
      const res = await act('carol', vm, { revertResize: null });
      expect(res.status).toBe(202);
      expect(res.body).toBeUndefined();
      expect((await h.migration(m.id))!.status).toBe('reverting');
      expect(await h.instance(vm.uuid)).toMatchObject({ vm_state: 'resized', task_state: 'resize_reverting' });
      const actions = await actionsOf(vm.uuid);
      expect(actions).toEqual([expect.objectContaining({ action: 'revertResize', user_id: 'u-carol', finish_time: null })]);
      const casts = await castsForMigration('revert_resize', m);
      expect(casts).toEqual([expect.objectContaining({ topic: 'compute', server: 'compute-2', args: { migration_id: m.id } })]);
      expect(casts[0]!.ctx.request_id).toBe(actions[0]!.request_id);
    });

    it('works for a cold migration (same flavor) too, and for an admin on a member\'s server', async () => {
      const { vm, m } = await resized({ flavor: TINY, old_flavor: TINY, new_flavor: TINY }, { migration_type: 'migration', new_instance_type_id: TINY.id });
      expect((await act('admin', vm, { revertResize: null })).status).toBe(202);
      expect((await h.migration(m.id))!.status).toBe('reverting');
    });

    it('refuses a server with no finished migration with 400', async () => {
      const vm = await h.insertInstance({ vm_state: 'resized' });
      fault(await act('alice', vm, { revertResize: null }), 400, 'badRequest', 'Instance has not been resized.');
      expect((await h.instance(vm.uuid))!.task_state).toBeNull();
    });

    it.each([
      ['an active server', { vm_state: 'active' }, /^Cannot 'revertResize' instance \S+ while it is in vm_state active$/],
      ['a server already being reverted', { task_state: 'resize_reverting' }, /^Cannot 'revertResize' instance \S+ while it is in task_state resize_reverting$/],
      ['a locked server', { locked: true, locked_by: 'admin' }, /^Instance \S+ is locked$/],
    ])('refuses %s with 409', async (_label, state, message) => {
      const { vm, m } = await resized(state);
      fault(await act('alice', vm, { revertResize: null }), 409, 'conflictingRequest', message);
      expect((await h.migration(m.id))!.status).toBe('finished');
    });
  });

  describe('confirm and revert racing', () => {
    // The loser gets 409 when it saw the winner's task or lost the CAS, or Nova's 400 when it read the record
    // after the winner had claimed it.
    const lostTo = (r: { status: number; body: Record<string, { message: string }> }, action: string, vm: { uuid: string }, m: { id: number }, status: string) => {
      if (r.status !== 409) return expect(r.body).toEqual({ badRequest: { code: 400, message: 'Instance has not been resized.' } });
      expect([
        `Cannot '${action}' instance ${vm.uuid} while its migration ${m.id} is in status ${status}`,
        `Cannot '${action}' instance ${vm.uuid} while it is in task_state resize_reverting`,
      ]).toContain(r.body.conflictingRequest.message);
    };

    it('lets exactly one of a confirm and a revert sent together through; the loser gets 409 or 400 and changes nothing', async () => {
      for (let round = 0; round < 5; round++) {
        const { vm, m } = await resized();
        const [confirm, revert] = await Promise.all([act('alice', vm, { confirmResize: null }), act('alice', vm, { revertResize: null })]);
        const after = { migration: (await h.migration(m.id))!.status, task: (await h.instance(vm.uuid))!.task_state };
        if (confirm.status === 204) {
          lostTo(revert, 'revertResize', vm, m, 'confirming');
          expect(after).toEqual({ migration: 'confirming', task: null });
          expect((await actionsOf(vm.uuid)).map((a) => a.action)).toEqual(['confirmResize']);
        } else {
          expect(revert.status).toBe(202);
          lostTo(confirm, 'confirmResize', vm, m, 'reverting');
          expect(after).toEqual({ migration: 'reverting', task: 'resize_reverting' });
          expect((await actionsOf(vm.uuid)).map((a) => a.action)).toEqual(['revertResize']);
        }
      }
    });

    it('accepts one of many simultaneous confirms; the others get 409 or, once it is claimed, 400', async () => {
      const { vm, m } = await resized();
      const results = await Promise.all(Array.from({ length: 6 }, () => act('alice', vm, { confirmResize: null })));
      expect(results.filter((r) => r.status === 204)).toHaveLength(1);
      for (const r of results.filter((x) => x.status !== 204)) {
        if (r.status === 409) expect(r.body.conflictingRequest.message).toBe(`Cannot 'confirmResize' instance ${vm.uuid} while its migration ${m.id} is in status confirming`);
        else expect(r.body).toEqual({ badRequest: { code: 400, message: 'Instance has not been resized.' } });
      }
      expect(await actionsOf(vm.uuid)).toHaveLength(1);
    });
  });

  describe('policy', () => {
    it("is a 404 for another project's server, before policy or state is looked at", async () => {
      const { vm, m } = await resized({ owner: 'bob' });
      const active = await h.insertInstance({ owner: 'bob' });
      for (const [target, body] of [[active, { resize: { flavorRef: '2' } }], [active, { migrate: null }], [vm, { confirmResize: null }], [vm, { revertResize: null }]] as const) {
        fault(await act('alice', target, body), 404, 'itemNotFound', `Instance ${target.uuid} could not be found.`);
      }
      expect((await h.migration(m.id))!.status).toBe('finished');
      expect((await h.instance(active.uuid))!.task_state).toBeNull();
    });
  });

  describe('os-migrations', () => {
    it('lists the move a confirm claimed, with the old and new flavor ids as Nova shows them', async () => {
      const { vm, m } = await resized();
      expect((await act('alice', vm, { confirmResize: null })).status).toBe(204);
      const res = await h.request('admin', 'GET', `/os-migrations?instance_uuid=${vm.uuid}`, { version: '2.23' });
      expect(res.status).toBe(200);
      expect(res.body.migrations).toEqual([expect.objectContaining({
        id: m.id, instance_uuid: vm.uuid, migration_type: 'resize', status: 'confirming', source_compute: 'compute-1', dest_compute: 'compute-2',
        old_instance_type_id: TINY.id, new_instance_type_id: flavor('2').id,
      })]);
    });
  });

  describe('how the server looks', () => {
    const show = async (vm: Instance, who: Who = 'alice') => (await h.request(who, 'GET', `/servers/${vm.uuid}`)).body.server;

    it('shows RESIZE while the move is prepared, VERIFY_RESIZE while it waits, REVERT_RESIZE while it reverts', async () => {
      const vm = await h.insertInstance();
      expect((await act('alice', vm, { resize: { flavorRef: '2' } })).status).toBe(202);
      expect(await show(vm)).toMatchObject({
        status: 'RESIZE', 'OS-EXT-STS:vm_state': 'active', 'OS-EXT-STS:task_state': 'resize_prep', flavor: { id: '1' }, progress: 0,
      });

      const { vm: waiting } = await resized();
      expect(await show(waiting)).toMatchObject({
        status: 'VERIFY_RESIZE', 'OS-EXT-STS:vm_state': 'resized', 'OS-EXT-STS:task_state': null, flavor: { id: '2' },
      });
      expect(await show(waiting, 'admin')).toMatchObject({ 'OS-EXT-SRV-ATTR:host': 'compute-2' });
      const listed = await h.request('alice', 'GET', '/servers/detail?status=VERIFY_RESIZE');
      expect(listed.body.servers.map((s: { id: string }) => s.id)).toContain(waiting.uuid);

      expect((await act('alice', waiting, { revertResize: null })).status).toBe(202);
      expect(await show(waiting)).toMatchObject({ status: 'REVERT_RESIZE', 'OS-EXT-STS:task_state': 'resize_reverting' });
    });

    it('still shows VERIFY_RESIZE while a confirm is under way (Nova has no CONFIRMING status)', async () => {
      const { vm } = await resized();
      expect((await act('alice', vm, { confirmResize: null })).status).toBe(204);
      expect(await show(vm)).toMatchObject({ status: 'VERIFY_RESIZE', 'OS-EXT-STS:task_state': null });
    });
  });

  describe('os-resetState of a server being moved', () => {
    const claimsOf = async (uuid: string) => (await h.ds.getRepository(Allocation).findBy({ consumer_uuid: uuid })).map((a) => a.host).sort();
    const claim = (uuid: string, host: string) => h.ds.getRepository(Allocation).insert({ consumer_uuid: uuid, host, vcpus: 1, memory_mb: 512, disk_gb: 1 });
    const recordOf = async (m: Migration) => h.ds.getRepository(MigrationRow).findOneByOrFail({ id: m.id });

    it.each([
      ['a cold migration stuck copying', 'resize_migrating', { migration_type: 'migration', status: 'migrating' }],
      ['a live migration left running', 'migrating', { migration_type: 'live-migration', status: 'running' }],
      ['a live migration left accepted', 'migrating', { migration_type: 'live-migration', status: 'accepted' }],
    ] as const)('ends %s in error, frees its claim on the other host, and the server can be moved again', async (_label, task, move) => {
      const vm = await h.insertInstance({ task_state: task });
      const m = await h.insertMigration({ instance_uuid: vm.uuid, ...move });
      await claim(vm.uuid, 'compute-1');
      await claim(vm.uuid, 'compute-2');
      // Before the reset the open move blocks any other.
      expect((await act('admin', vm, { migrate: null })).status).toBe(409);

      expect((await act('admin', vm, { 'os-resetState': { state: 'active' } })).status).toBe(202);
      expect(await h.instance(vm.uuid)).toMatchObject({ vm_state: 'active', task_state: null, host: 'compute-1' });
      expect(await recordOf(m)).toMatchObject({ status: 'error', last_error: 'abandoned by os-resetState' });
      expect(await claimsOf(vm.uuid)).toEqual(['compute-1']);

      expect((await act('admin', vm, { migrate: null })).status).toBe(202);
      expect(await castsFor('migrate_server', vm.uuid)).toHaveLength(1);
    });

    it('a reset with no move in progress touches no record and no claim', async () => {
      const vm = await h.insertInstance({ task_state: 'powering-off' });
      const done = await h.insertMigration({ instance_uuid: vm.uuid, status: 'confirmed' });
      await claim(vm.uuid, 'compute-1');
      expect((await act('admin', vm, { 'os-resetState': { state: 'error' } })).status).toBe(202);
      expect(await h.instance(vm.uuid)).toMatchObject({ vm_state: 'error', task_state: null });
      expect((await recordOf(done)).status).toBe('confirmed');
      expect(await claimsOf(vm.uuid)).toEqual(['compute-1']);
    });
  });
});
