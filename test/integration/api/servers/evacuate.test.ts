// evacuate: Nova's body and answer per microversion, policy, states, the source service that must be down, the
// target host checks, the record the API writes, and what a refusal leaves (nothing).
import { Migration, type Instance } from '@ferry/common/db';
import { ApiHarness, expectFault, type Who } from './support';

describe('evacuate API', () => {
  let h: ApiHarness;
  beforeAll(async () => {
    h = await ApiHarness.start();
  });
  beforeEach(async () => {
    await h.setServiceDown('compute-1', true);
  });
  afterEach(async () => {
    await h.ds.query(`UPDATE migrations SET status = 'error' WHERE status NOT IN ('completed', 'cancelled', 'failed', 'error', 'confirmed', 'reverted')`);
    await h.ds.query(`UPDATE services SET forced_down = false`);
    await h.setServiceDown('compute-1', false);
  });
  afterAll(async () => {
    await h?.close();
  });

  const evacuate = (who: Who, vm: Instance, body: unknown, version?: string) => h.request(who, 'POST', `/servers/${vm.uuid}/action`, { body: { evacuate: body }, version });
  const recordsOf = (uuid: string) => h.ds.getRepository(Migration).find({ where: { instance_uuid: uuid }, order: { id: 'ASC' } });
  const unchanged = async (vm: Instance) => {
    expect((await h.instance(vm.uuid))).toMatchObject({ task_state: null, vm_state: vm.vm_state, host: vm.host });
    expect(await recordsOf(vm.uuid)).toEqual([]);
    expect(await h.actionsOf(vm.uuid)).toEqual([]);
  };

  it('records the evacuation (accepted), takes task rebuilding, opens the action, casts evacuate_server; 2.14+ answers 200 with no body', async () => {
    const vm = await h.insertInstance({ owner: 'alice' });
    const res = await evacuate('admin', vm, {}, '2.14');
    expect([res.status, res.body]).toEqual([200, undefined]);
    expect((await h.instance(vm.uuid))!.task_state).toBe('rebuilding');
    const [m] = await recordsOf(vm.uuid);
    expect(m).toMatchObject({ migration_type: 'evacuation', status: 'accepted', source_compute: 'compute-1', dest_compute: null });
    expect(m.migrate_data).toMatchObject({ requested_host: null, force: false, old_vm_state: 'active' });
    const casts = (await h.castsOf('evacuate_server', 1)).filter((c) => c.args.migration_id === m.id);
    expect(casts).toEqual([expect.objectContaining({ topic: 'scheduler' })]);
    expect((await h.actionsOf(vm.uuid)).map((a) => a.action)).toEqual(['evacuate']);
  });

  it('answers the admin password before 2.14: the one given, a generated one, none on shared storage', async () => {
    const a = await h.insertInstance({ owner: 'alice' });
    expect(await evacuate('admin', a, { onSharedStorage: false, adminPass: 'secret1' }, '2.1')).toMatchObject({ status: 200, body: { adminPass: 'secret1' } });
    const b = await h.insertInstance({ owner: 'alice', vm_state: 'stopped', power_state: 4 });
    const gen = await evacuate('admin', b, { host: 'compute-2', onSharedStorage: 'False' }, '2.13');
    expect(gen.status).toBe(200);
    expect(gen.body.adminPass).toMatch(/^[a-zA-Z0-9]{12}$/);
    expect((await recordsOf(b.uuid))[0]).toMatchObject({ dest_compute: 'compute-2', migrate_data: expect.objectContaining({ old_vm_state: 'stopped' }) });
    const c = await h.insertInstance({ owner: 'alice', vm_state: 'error' });
    expect(await evacuate('admin', c, { onSharedStorage: true }, '2.1')).toMatchObject({ status: 200, body: undefined });
  });

  it('takes force with a host in 2.29–2.67', async () => {
    const vm = await h.insertInstance({ owner: 'alice' });
    expect((await evacuate('admin', vm, { host: 'compute-2', force: 'true' }, '2.29')).status).toBe(200);
    expect((await recordsOf(vm.uuid))[0].migrate_data).toMatchObject({ requested_host: 'compute-2', force: true });
  });

  it.each([
    ['onSharedStorage missing before 2.14', '2.13', {}],
    ['onSharedStorage from 2.14', '2.14', { onSharedStorage: false }],
    ['force before 2.29', '2.28', { host: 'compute-2', force: true }],
    ['force from 2.68', '2.68', { host: 'compute-2', force: true }],
    ['force not a boolean', '2.29', { host: 'compute-2', force: 'maybe' }],
    ['an unknown key', '2.80', { speed: 1 }],
    ['an empty host', '2.80', { host: '' }],
    ['a host with a space', '2.80', { host: 'compute 2' }],
    ['a password on shared storage', '2.1', { onSharedStorage: true, adminPass: 'x' }],
    ['force without a host', '2.29', { force: true }],
  ])('400 for %s, and nothing changes', async (_label, version, body) => {
    const vm = await h.insertInstance({ owner: 'alice' });
    const res = await evacuate('admin', vm, body, version);
    expect(res.status).toBe(400);
    expect(res.body.badRequest.code).toBe(400);
    await unchanged(vm);
  });

  it('is admin only: 403 naming the policy for the owner, 404 for another project', async () => {
    const vm = await h.insertInstance({ owner: 'alice' });
    expectFault(await evacuate('alice', vm, {}, '2.14'), 403, 'forbidden', "Policy doesn't allow os_compute_api:os-evacuate to be performed.");
    expect((await evacuate('bob', vm, {}, '2.14')).status).toBe(404);
    await unchanged(vm);
  });

  it("400 with Nova's message while the source compute is up; a forced-down service is evacuable", async () => {
    const vm = await h.insertInstance({ owner: 'alice' });
    await h.setServiceDown('compute-1', false);
    expectFault(await evacuate('admin', vm, {}, '2.14'), 400, 'badRequest', 'Compute service of compute-1 is still in use.');
    await unchanged(vm);
    await h.ds.query(`UPDATE services SET forced_down = true WHERE host = 'compute-1'`);
    expect((await evacuate('admin', vm, {}, '2.14')).status).toBe(200);
  });

  it('400 and nothing recorded when the source compute comes back between the down check and the record', async () => {
    const vm = await h.insertInstance({ owner: 'alice' });
    // The compute's heartbeat under way in another session: the services row locked, its old (down) value still visible.
    const heartbeat = h.ds.createQueryRunner();
    await heartbeat.connect();
    try {
      await heartbeat.startTransaction();
      await heartbeat.query(`UPDATE services SET last_seen_up = now() WHERE host = 'compute-1' AND "binary" = 'ferry-compute'`);
      const answer = evacuate('admin', vm, {}, '2.14');
      // The API read the host as down and now waits for the row to write its record.
      const waiting = async () => (await h.ds.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FROM services WHERE host%FOR UPDATE%'`))[0].n as number;
      for (let i = 0; i < 100 && (await waiting()) === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(await waiting()).toBe(1);
      await heartbeat.commitTransaction();
      expectFault(await answer, 400, 'badRequest', 'Compute service of compute-1 is still in use.');
    } finally {
      if (heartbeat.isTransactionActive) await heartbeat.rollbackTransaction();
      await heartbeat.release();
    }
    expect((await h.instance(vm.uuid))).toMatchObject({ task_state: null, vm_state: vm.vm_state, host: vm.host });
    expect(await recordsOf(vm.uuid)).toEqual([]);
  });

  it("404 for an unknown host, 400 for the server's own host", async () => {
    const vm = await h.insertInstance({ owner: 'alice' });
    expectFault(await evacuate('admin', vm, { host: 'nowhere' }, '2.14'), 404, 'itemNotFound', 'Compute host nowhere not found.');
    expectFault(await evacuate('admin', vm, { host: 'compute-1' }, '2.14'), 400, 'badRequest', "The target host can't be the same one.");
    await unchanged(vm);
  });

  it.each(['paused', 'suspended', 'rescued', 'building'])("409 with Nova's message in vm_state %s", async (state) => {
    const vm = await h.insertInstance({ owner: 'alice', vm_state: state });
    expectFault(await evacuate('admin', vm, {}, '2.14'), 409, 'conflictingRequest', `Cannot 'evacuate' instance ${vm.uuid} while it is in vm_state ${state}`);
    await unchanged(vm);
  });

  it('409 while another task runs, and a refused cast puts everything back', async () => {
    const busy = await h.insertInstance({ owner: 'alice', task_state: 'powering-off' });
    expect((await evacuate('admin', busy, {}, '2.14')).status).toBe(409);
    const vm = await h.insertInstance({ owner: 'alice' });
    const res = await h.withBrokenBus(() => evacuate('admin', vm, {}, '2.14'));
    expect(res.status).toBe(503);
    expect((await h.instance(vm.uuid))!.task_state).toBeNull();
    expect((await recordsOf(vm.uuid)).map((m) => m.status)).toEqual(['error']);
  });

  it('os-resetState leaves a done evacuation for its source to fence, and ends one not yet done', async () => {
    const moved = await h.insertInstance({ owner: 'alice', host: 'compute-2', node: 'compute-2.local' });
    const done = await h.insertMigration({ instance_uuid: moved.uuid, migration_type: 'evacuation', status: 'done', source_compute: 'compute-1', dest_compute: 'compute-2' });
    expect((await h.request('admin', 'POST', `/servers/${moved.uuid}/action`, { body: { 'os-resetState': { state: 'active' } } })).status).toBe(202);
    expect((await h.migration(done.id))!.status).toBe('done');
    const stuck = await h.insertInstance({ owner: 'alice', task_state: 'rebuilding' });
    const open = await h.insertMigration({ instance_uuid: stuck.uuid, migration_type: 'evacuation', status: 'pre-migrating', source_compute: 'compute-1', dest_compute: 'compute-2' });
    expect((await h.request('admin', 'POST', `/servers/${stuck.uuid}/action`, { body: { 'os-resetState': { state: 'error' } } })).status).toBe(202);
    expect((await h.migration(open.id))!.status).toBe('error');
  });
});
