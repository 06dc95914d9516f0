// os-migrateLive and /servers/{id}/migrations: microversion rules of each body, policy, states, rescued instances,
// the record the API writes, force-complete and abort, and what a refused cast leaves behind.
import { Migration, type Instance } from '@ferry/common/db';
import { ApiHarness, expectFault, type Who } from './support';

describe('live migration API', () => {
  let h: ApiHarness;
  beforeAll(async () => {
    h = await ApiHarness.start();
  });
  afterEach(async () => {
    await h.ds.query(`UPDATE migrations SET status = 'error' WHERE status NOT IN ('completed', 'cancelled', 'failed', 'error', 'confirmed', 'reverted')`);
    await h.ds.query(`UPDATE compute_nodes SET capabilities = '{}'`);
  });
  afterAll(async () => {
    await h?.close();
  });

  const AUTO = { host: null, block_migration: 'auto' };
  const live = (who: Who, vm: Instance, body: unknown, version?: string) => h.request(who, 'POST', `/servers/${vm.uuid}/action`, { body: { 'os-migrateLive': body }, version });
  const recordsOf = (uuid: string) => h.ds.getRepository(Migration).find({ where: { instance_uuid: uuid }, order: { id: 'ASC' } });
  const recordOf = (uuid: string) => h.ds.getRepository(Migration).findOneByOrFail({ instance_uuid: uuid });
  const castsFor = async (method: string, m: Migration) => (await h.castsOf(method, 1)).filter((c) => c.args.migration_id === m.id);
  const setCapable = (hosts: string[]) =>
    h.ds.query(`UPDATE compute_nodes SET capabilities = '{"supports_live_migrate_rescued": true}' WHERE host = ANY($1)`, [hosts]);

  describe('os-migrateLive', () => {
    it('takes task migrating, records the request (accepted), opens the action and casts live_migrate_server (2.25, auto)', async () => {
      const vm = await h.insertInstance({ owner: 'alice' });
      const res = await live('admin', vm, AUTO, '2.25');
      expect([res.status, res.body]).toEqual([202, undefined]);
      expect((await h.instance(vm.uuid))!.task_state).toBe('migrating');
      const m = await recordOf(vm.uuid);
      expect(m).toMatchObject({
        migration_type: 'live-migration', status: 'accepted', source_compute: 'compute-1', source_node: 'compute-1.local', dest_compute: null,
        user_id: 'u-admin', project_id: 'p-admin',
      });
      expect(m.migrate_data).toEqual({
        requested_host: null, block_migration: 'auto', force: false, old_vm_state: 'active',
        request_context: expect.objectContaining({ user_id: 'u-admin', project_id: 'p-admin', roles: ['admin', 'member'] }),
      });
      const casts = await castsFor('live_migrate_server', m);
      expect(casts).toEqual([expect.objectContaining({ topic: 'scheduler', ctx: expect.objectContaining({ request_id: (m.migrate_data as { request_context: { request_id: string } }).request_context.request_id }) })]);
      expect((await h.actionsOf(vm.uuid)).map((a) => [a.action, a.message])).toEqual([['live-migration', null]]);
    });

    it.each([
      ['2.1 without disk_over_commit', '2.1', { host: null, block_migration: false }],
      ['2.1 without host', '2.1', { block_migration: false, disk_over_commit: false }],
      ['2.1 with "auto"', '2.1', { host: null, block_migration: 'auto', disk_over_commit: false }],
      ['2.1 with a string that is no boolean', '2.1', { host: null, block_migration: 'maybe', disk_over_commit: false }],
      ['2.24 with force', '2.24', { host: 'compute-2', block_migration: false, disk_over_commit: false, force: true }],
      ['2.25 with disk_over_commit', '2.25', { ...AUTO, disk_over_commit: false }],
      ['2.25 with force', '2.25', { ...AUTO, force: false }],
      ['2.29 with force', '2.29', { host: 'compute-2', block_migration: 'auto', force: true }],
      ['2.68 with force', '2.68', { ...AUTO, force: false }],
      ['2.30 with force "auto"', '2.30', { host: 'compute-2', block_migration: 'auto', force: 'auto' }],
      ['an unknown key', '2.30', { ...AUTO, speed: 1 }],
      ['no block_migration', '2.30', { host: null }],
      ['no host', '2.30', { block_migration: 'auto' }],
      ['an empty host', '2.30', { host: '', block_migration: 'auto' }],
      ['a host name with a space', '2.30', { host: 'compute 2', block_migration: 'auto' }],
    ])('400 for %s, and nothing changes', async (_label, version, body) => {
      const vm = await h.insertInstance({ owner: 'alice' });
      const res = await live('admin', vm, body, version);
      expect(res.status).toBe(400);
      expect(res.body.badRequest.code).toBe(400);
      expect((await h.instance(vm.uuid))!.task_state).toBeNull();
      expect(await recordsOf(vm.uuid)).toEqual([]);
    });

    it('400 for an empty or non-object os-migrateLive', async () => {
      const vm = await h.insertInstance({ owner: 'alice' });
      for (const body of [null, 'yes', []]) expect((await live('admin', vm, body, '2.25')).status).toBe(400);
    });

    it("takes Nova's boolean spellings before 2.25 and force from 2.30 to 2.67", async () => {
      const a = await h.insertInstance({ owner: 'alice' });
      expect((await live('admin', a, { host: null, block_migration: 'True', disk_over_commit: 'False' }, '2.1')).status).toBe(202);
      expect((await recordOf(a.uuid)).migrate_data).toMatchObject({ block_migration: true, force: false });
      const b = await h.insertInstance({ owner: 'alice' });
      expect((await live('admin', b, { host: null, block_migration: 'off', disk_over_commit: true }, '2.24')).status).toBe(202);
      expect((await recordOf(b.uuid)).migrate_data).toMatchObject({ block_migration: false });
      const c = await h.insertInstance({ owner: 'alice' });
      expect((await live('admin', c, { host: 'compute-2', block_migration: false, force: 'YES' }, '2.30')).status).toBe(202);
      expect(await recordOf(c.uuid)).toMatchObject({ dest_compute: 'compute-2', migrate_data: expect.objectContaining({ requested_host: 'compute-2', force: true }) });
      const d = await h.insertInstance({ owner: 'alice' });
      expect((await live('admin', d, { host: 'compute-2', block_migration: true }, '2.68')).status).toBe(202);
      expect((await recordOf(d.uuid)).migrate_data).toMatchObject({ requested_host: 'compute-2', block_migration: true, force: false });
      const e = await h.insertInstance({ owner: 'alice' });
      expect((await live('admin', e, { ...AUTO, force: false }, '2.67')).status).toBe(202);
    });

    it("400 to force without a destination (2.30–2.67), as Nova's API", async () => {
      const vm = await h.insertInstance({ owner: 'alice' });
      expectFault(await live('admin', vm, { ...AUTO, force: true }, '2.30'), 400, 'badRequest', "Can't force to a non-provided destination");
      expect((await h.instance(vm.uuid))!.task_state).toBeNull();
    });

    it("is admin only: 403 naming the policy (migrate_live, or migrate_live:host with a host); another project's server is a 404", async () => {
      const vm = await h.insertInstance({ owner: 'alice' });
      expectFault(await live('alice', vm, AUTO, '2.25'), 403, 'forbidden', "Policy doesn't allow os_compute_api:os-migrate-server:migrate_live to be performed.");
      expectFault(
        await live('alice', vm, { host: 'compute-2', block_migration: 'auto' }, '2.25'), 403, 'forbidden',
        "Policy doesn't allow os_compute_api:os-migrate-server:migrate_live:host to be performed.",
      );
      expect((await live('bob', vm, AUTO, '2.25')).status).toBe(404);
      expect((await h.instance(vm.uuid))!.task_state).toBeNull();
    });

    it("400 for an unknown host and for the server's own host", async () => {
      const vm = await h.insertInstance({ owner: 'alice' });
      expectFault(await live('admin', vm, { host: 'nowhere', block_migration: 'auto' }, '2.25'), 400, 'badRequest', 'Compute host nowhere could not be found.');
      expectFault(
        await live('admin', vm, { host: 'compute-1', block_migration: 'auto' }, '2.25'), 400, 'badRequest',
        `Unable to migrate instance (${vm.uuid}) to current host (compute-1).`,
      );
      expect(await recordsOf(vm.uuid)).toEqual([]);
    });

    it.each([
      ['stopped', { vm_state: 'stopped', power_state: 4 }, 'vm_state stopped'],
      ['suspended', { vm_state: 'suspended', power_state: 7 }, 'vm_state suspended'],
      ['resized', { vm_state: 'resized' }, 'vm_state resized'],
      ['busy', { task_state: 'powering-off' }, 'task_state powering-off'],
      ['migrating', { task_state: 'migrating' }, 'task_state migrating'],
    ])('409 for a %s server', async (_label, fields, state) => {
      const vm = await h.insertInstance({ owner: 'alice', ...fields });
      expectFault(await live('admin', vm, AUTO, '2.25'), 409, 'conflictingRequest', `Cannot 'os-migrateLive' instance ${vm.uuid} while it is in ${state}`);
      expect(await recordsOf(vm.uuid)).toEqual([]);
    });

    it('409 while the source compute service is down', async () => {
      const vm = await h.insertInstance({ owner: 'alice' });
      await h.setServiceDown('compute-1', true);
      try {
        expectFault(await live('admin', vm, AUTO, '2.25'), 409, 'conflictingRequest', 'Service is unavailable at this time.');
      } finally {
        await h.setServiceDown('compute-1', false);
      }
      expect((await h.instance(vm.uuid))!.task_state).toBeNull();
    });

    it('live-migrates a paused server (it is to arrive paused)', async () => {
      const paused = await h.insertInstance({ owner: 'alice', vm_state: 'paused', power_state: 3 });
      expect((await live('admin', paused, AUTO, '2.25')).status).toBe(202);
      expect((await recordOf(paused.uuid)).migrate_data).toMatchObject({ old_vm_state: 'paused' });
    });

    describe('a rescued server', () => {
      it('400 naming the source when it lacks supports_live_migrate_rescued, then the named destination', async () => {
        const rescued = await h.insertInstance({ owner: 'alice', vm_state: 'rescued' });
        const to2 = { host: 'compute-2', block_migration: 'auto' };
        expectFault(await live('admin', rescued, to2, '2.25'), 400, 'badRequest', 'Host compute-1 does not support live migration of rescued instances.');
        expectFault(await live('admin', rescued, AUTO, '2.25'), 400, 'badRequest', /^Host compute-1 does not support/);
        await setCapable(['compute-1']);
        expectFault(await live('admin', rescued, to2, '2.25'), 400, 'badRequest', 'Host compute-2 does not support live migration of rescued instances.');
        expect(await recordsOf(rescued.uuid)).toEqual([]);
        expect((await h.instance(rescued.uuid))!.task_state).toBeNull();
      });

      it('moves live when both hosts can, or when the source can and the scheduler picks', async () => {
        await setCapable(['compute-1', 'compute-2']);
        const named = await h.insertInstance({ owner: 'alice', vm_state: 'rescued' });
        expect((await live('admin', named, { host: 'compute-2', block_migration: 'auto' }, '2.25')).status).toBe(202);
        expect((await recordOf(named.uuid)).migrate_data).toMatchObject({ old_vm_state: 'rescued', requested_host: 'compute-2' });
        await h.ds.query(`UPDATE compute_nodes SET capabilities = '{}' WHERE host = 'compute-2'`);
        const picked = await h.insertInstance({ owner: 'alice', vm_state: 'rescued' });
        expect((await live('admin', picked, AUTO, '2.25')).status).toBe(202);
      });
    });

    it('409 when the server already has an open move, with the task put back and no second record', async () => {
      // A server whose state an admin reset while its migration was still open.
      const vm = await h.insertInstance({ owner: 'alice' });
      const open = await h.insertMigration({ instance_uuid: vm.uuid, migration_type: 'live-migration', status: 'running' });
      expectFault(await live('admin', vm, AUTO, '2.25'), 409, 'conflictingRequest', `Instance ${vm.uuid} is already being moved.`);
      expect((await h.instance(vm.uuid))!.task_state).toBeNull();
      expect((await recordsOf(vm.uuid)).map((m) => m.id)).toEqual([open.id]);
      expect(await h.actionsOf(vm.uuid)).toEqual([expect.objectContaining({ action: 'live-migration', message: 'Error' })]);
    });

    it('lets exactly one of several simultaneous requests through', async () => {
      const vm = await h.insertInstance({ owner: 'alice' });
      const results = await Promise.all(Array.from({ length: 5 }, () => live('admin', vm, AUTO, '2.25')));
      expect(results.map((r) => r.status).sort()).toEqual([202, 409, 409, 409, 409]);
      expect(await recordsOf(vm.uuid)).toHaveLength(1);
      expect(await h.actionsOf(vm.uuid)).toHaveLength(1);
    });

    it('when the bus refuses the cast: 503, the record in error, the task put back, the action failed; a retry is accepted', async () => {
      const vm = await h.insertInstance({ owner: 'alice' });
      expect((await h.withBrokenBus(() => live('admin', vm, AUTO, '2.25'))).status).toBe(503);
      expect(await recordOf(vm.uuid)).toMatchObject({ status: 'error', last_error: expect.stringMatching(/^not sent to the scheduler/) });
      expect(await h.instance(vm.uuid)).toMatchObject({ vm_state: 'active', task_state: null });
      expect(await h.actionsOf(vm.uuid)).toEqual([expect.objectContaining({ action: 'live-migration', message: 'Error', finish_time: expect.any(Date) })]);
      expect((await live('admin', vm, AUTO, '2.25')).status).toBe(202);
    });
  });

  describe('/servers/{id}/migrations', () => {
    /** A server in task migrating with its live migration in `status`, 512 bytes of RAM of which 100 are sent. */
    async function migratingServer(status: string, fields: Partial<Instance> = {}) {
      const vm = await h.insertInstance({ owner: 'alice', task_state: 'migrating', ...fields });
      const m = await h.insertMigration({
        instance_uuid: vm.uuid, migration_type: 'live-migration', status, memory_total: 512, memory_processed: 100, memory_remaining: 412,
        disk_total: 1024, disk_processed: 1024, disk_remaining: 0, user_id: 'u-admin', project_id: 'p-admin',
      });
      return { vm, m };
    }
    const path = (vm: Instance, m?: Migration | number) => `/servers/${vm.uuid}/migrations${m === undefined ? '' : `/${typeof m === 'number' ? m : m.id}`}`;
    const forceComplete = (who: Who, vm: Instance, m: Migration | number, version = '2.22', body: unknown = { force_complete: null }) =>
      h.request(who, 'POST', `${path(vm, m)}/action`, { body, version });
    const abort = (who: Who, vm: Instance, m: Migration | number, version = '2.24') => h.request(who, 'DELETE', path(vm, m), { version });

    describe('list and show', () => {
      it("list a server's live migrations in progress only, with Nova's fields, uuid from 2.59 and user/project from 2.80", async () => {
        const { vm, m } = await migratingServer('running');
        // Ended records: the database allows one open move per instance.
        for (const status of ['completed', 'error', 'cancelled']) await h.insertMigration({ instance_uuid: vm.uuid, migration_type: 'live-migration', status });
        await h.insertMigration({ instance_uuid: vm.uuid, migration_type: 'migration', status: 'error' });
        const fields = {
          id: m.id, server_uuid: vm.uuid, source_compute: 'compute-1', source_node: 'compute-1.local', dest_compute: 'compute-2',
          dest_node: 'compute-2.local', dest_host: null, status: 'running', memory_total_bytes: 512, memory_processed_bytes: 100,
          memory_remaining_bytes: 412, disk_total_bytes: 1024, disk_processed_bytes: 1024, disk_remaining_bytes: 0,
          created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/), updated_at: expect.any(String),
        };
        const at = async (version: string) => (await h.request('admin', 'GET', path(vm), { version })).body;
        expect(await at('2.23')).toEqual({ migrations: [fields] });
        expect(await at('2.59')).toEqual({ migrations: [{ ...fields, uuid: m.uuid }] });
        expect(await at('2.80')).toEqual({ migrations: [{ ...fields, uuid: m.uuid, user_id: 'u-admin', project_id: 'p-admin' }] });
        expect((await h.request('admin', 'GET', path(vm, m), { version: '2.80' })).body).toEqual({
          migration: { ...fields, uuid: m.uuid, user_id: 'u-admin', project_id: 'p-admin' },
        });
      });

      it.each([
        ['queued', true], ['preparing', true], ['running', true], ['post-migrating', true], ['accepted', false], ['failed', false],
      ])('list a live migration in status %s: %s', async (status, listed) => {
        const { vm, m } = await migratingServer(status);
        const res = await h.request('admin', 'GET', path(vm), { version: '2.23' });
        expect(res.body.migrations.map((x: { id: number }) => x.id)).toEqual(listed ? [m.id] : []);
      });

      it('404 before 2.23; admin only (403 naming the policy); another project\'s server is a 404 to its members', async () => {
        const { vm, m } = await migratingServer('running');
        expect((await h.request('admin', 'GET', path(vm), { version: '2.22' })).status).toBe(404);
        expect((await h.request('admin', 'GET', path(vm, m), { version: '2.22' })).status).toBe(404);
        expectFault(await h.request('alice', 'GET', path(vm), { version: '2.23' }), 403, 'forbidden', "Policy doesn't allow os_compute_api:servers:migrations:index to be performed.");
        expectFault(await h.request('alice', 'GET', path(vm, m), { version: '2.23' }), 403, 'forbidden', "Policy doesn't allow os_compute_api:servers:migrations:show to be performed.");
        expect((await h.request('bob', 'GET', path(vm), { version: '2.23' })).status).toBe(404);
        expect((await h.request('admin', 'GET', `/servers/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}/migrations`, { version: '2.23' })).status).toBe(404);
      });

      it("show: Nova's 404s for another server's migration, one that is not live, and one no longer in progress", async () => {
        const { vm } = await migratingServer('running');
        const other = await migratingServer('running');
        const show = (m: Migration | number) => h.request('admin', 'GET', path(vm, m), { version: '2.23' });
        expectFault(await show(other.m), 404, 'itemNotFound', `In-progress live migration ${other.m.id} is not found for server ${vm.uuid}.`);
        expectFault(await show(999999), 404, 'itemNotFound', `In-progress live migration 999999 is not found for server ${vm.uuid}.`);
        const cold = await h.insertMigration({ instance_uuid: vm.uuid, migration_type: 'migration', status: 'error' });
        expectFault(await show(cold), 404, 'itemNotFound', `Migration ${cold.id} for server ${vm.uuid} is not live-migration.`);
        const done = await h.insertMigration({ instance_uuid: vm.uuid, migration_type: 'live-migration', status: 'completed' });
        expectFault(await show(done), 404, 'itemNotFound', `Live migration ${done.id} for server ${vm.uuid} is not in progress.`);
        const accepted = await migratingServer('accepted');
        expectFault(
          await h.request('admin', 'GET', path(accepted.vm, accepted.m), { version: '2.23' }), 404, 'itemNotFound',
          `Live migration ${accepted.m.id} for server ${accepted.vm.uuid} is not in progress.`,
        );
        expect((await h.request('admin', 'GET', `/servers/${vm.uuid}/migrations/abc`, { version: '2.23' })).status).toBe(404);
      });
    });

    it.each([
      ['force_complete', 'live_migration_force_complete', 'live_migration_force_complete', forceComplete],
      ['abort', 'live_migration_abort', 'live_migration_cancel', abort],
    ] as const)('%s while running: 202, a cast of %s to the source (which owns the job and its record), instance action %s', async (_label, method, action, send) => {
      const { vm, m } = await migratingServer('running');
      const res = await send('admin', vm, m);
      expect([res.status, res.body]).toEqual([202, undefined]);
      expect(await castsFor(method, m)).toEqual([expect.objectContaining({ topic: 'compute', server: 'compute-1' })]);
      expect((await h.migration(m.id))!.status).toBe('running');
      expect((await h.actionsOf(vm.uuid)).map((a) => a.action)).toEqual([action]);
    });

    describe('force_complete', () => {
      it('force-completes the live migration of a paused server too', async () => {
        const { vm, m } = await migratingServer('running', { vm_state: 'paused', power_state: 3 });
        expect((await forceComplete('admin', vm, m)).status).toBe(202);
      });

      it.each(['queued', 'preparing', 'post-migrating', 'completed'])("400 in status %s, in Nova's words", async (status) => {
        const { vm, m } = await migratingServer(status);
        expectFault(
          await forceComplete('admin', vm, m), 400, 'badRequest',
          `Migration ${m.id} state of instance ${vm.uuid} is ${status}. Cannot force complete while the migration is in this state.`,
        );
        expect(await h.actionsOf(vm.uuid)).toEqual([]);
      });

      it("400 for another server's migration or none (Nova's MigrationNotFoundForInstance)", async () => {
        const { vm } = await migratingServer('running');
        const other = await migratingServer('running');
        expectFault(await forceComplete('admin', vm, other.m), 400, 'badRequest', `Migration ${other.m.id} not found for instance ${vm.uuid}`);
        expect(await castsFor('live_migration_force_complete', other.m)).toEqual([]);
      });

      it('409 unless the server is migrating; 404 before 2.22; 400 for another body; 403 for members', async () => {
        const { m } = await migratingServer('running');
        const settled = await h.insertInstance({ owner: 'alice' });
        const stray = await h.insertMigration({ instance_uuid: settled.uuid, migration_type: 'live-migration', status: 'running' });
        expectFault(await forceComplete('admin', settled, stray), 409, 'conflictingRequest', `Cannot 'force_complete' instance ${settled.uuid} while it is in task_state None`);
        const stopped = await migratingServer('running', { vm_state: 'stopped' });
        expectFault(await forceComplete('admin', stopped.vm, stopped.m), 409, 'conflictingRequest', /while it is in vm_state stopped$/);
        const { vm } = await migratingServer('running');
        expect((await forceComplete('admin', vm, m, '2.21')).status).toBe(404);
        expect((await forceComplete('admin', vm, m, '2.22', { force_complete: {} })).status).toBe(400);
        expect((await forceComplete('admin', vm, m, '2.22', { force_complete: null, now: true })).status).toBe(400);
        expectFault(
          await forceComplete('alice', vm, m), 403, 'forbidden', "Policy doesn't allow os_compute_api:servers:migrations:force_complete to be performed.",
        );
        expect((await forceComplete('bob', vm, m)).status).toBe(404);
      });

      it('kept on the record before the cast, so a bus that refuses the cast still gets 202: the source\'s monitor applies it', async () => {
        const { vm, m } = await migratingServer('running');
        expect((await h.withBrokenBus(() => forceComplete('admin', vm, m))).status).toBe(202);
        expect(await h.migration(m.id)).toMatchObject({ status: 'running', steer_request: 'force_complete' });
        expect(await h.actionsOf(vm.uuid)).toEqual([expect.objectContaining({ action: 'live_migration_force_complete', message: null })]);
      });
    });

    describe('abort', () => {
      it.each(['queued', 'preparing'])('%s: 400 before 2.65; from 2.65 cancelled at once, and the source is told', async (status) => {
        const { vm, m } = await migratingServer(status);
        expectFault(
          await abort('admin', vm, m, '2.64'), 400, 'badRequest',
          `Migration ${m.id} state of instance ${vm.uuid} is ${status}. Cannot abort live migration while the migration is in this state.`,
        );
        expect(await h.actionsOf(vm.uuid)).toEqual([]);
        expect((await abort('admin', vm, m, '2.65')).status).toBe(202);
        expect((await h.migration(m.id))!.status).toBe('cancelled');
        expect(await castsFor('live_migration_abort', m)).toHaveLength(1);
        expect((await h.actionsOf(vm.uuid)).map((a) => a.action)).toEqual(['live_migration_cancel']);
      });

      it.each(['accepted', 'post-migrating', 'completed', 'cancelled'])('400 in status %s at any microversion', async (status) => {
        const { vm, m } = await migratingServer(status);
        expectFault(await abort('admin', vm, m, '2.65'), 400, 'badRequest', new RegExp(`is ${status}\\. Cannot abort live migration while the migration is in this state\\.$`));
        expect((await h.migration(m.id))!.status).toBe(status);
      });

      it("404 for another server's migration, one that does not exist, and before 2.24", async () => {
        const { vm, m } = await migratingServer('running');
        const other = await migratingServer('running');
        expectFault(await abort('admin', vm, other.m), 404, 'itemNotFound', `Migration ${other.m.id} not found for instance ${vm.uuid}`);
        expectFault(await abort('admin', vm, 999999), 404, 'itemNotFound', `Migration 999999 not found for instance ${vm.uuid}`);
        expect((await abort('admin', vm, m, '2.23')).status).toBe(404);
        expect(await castsFor('live_migration_abort', other.m)).toEqual([]);
      });

      it('409 unless the server is migrating; admin only', async () => {
        const settled = await h.insertInstance({ owner: 'alice' });
        const stray = await h.insertMigration({ instance_uuid: settled.uuid, migration_type: 'live-migration', status: 'running' });
        expectFault(await abort('admin', settled, stray), 409, 'conflictingRequest', `Cannot 'abort live migration' instance ${settled.uuid} while it is in task_state None`);
        const { vm, m } = await migratingServer('running');
        expectFault(await abort('alice', vm, m), 403, 'forbidden', "Policy doesn't allow os_compute_api:servers:migrations:delete to be performed.");
        expect((await abort('bob', vm, m)).status).toBe(404);
        expect((await h.migration(m.id))!.status).toBe('running');
      });

      it('when the bus refuses the cast: a running one keeps the abort on its record, a queued one is cancelled (both 202)', async () => {
        const running = await migratingServer('running');
        expect((await h.withBrokenBus(() => abort('admin', running.vm, running.m))).status).toBe(202);
        expect(await h.migration(running.m.id)).toMatchObject({ status: 'running', steer_request: 'abort' });
        // An abort is never replaced by a later force-complete.
        expect((await forceComplete('admin', running.vm, running.m)).status).toBe(202);
        expect((await h.migration(running.m.id))!.steer_request).toBe('abort');
        const queued = await migratingServer('queued');
        expect((await h.withBrokenBus(() => abort('admin', queued.vm, queued.m, '2.65'))).status).toBe(202);
        expect((await h.migration(queued.m.id))!.status).toBe('cancelled');
      });
    });
  });

  describe('rescue and unrescue', () => {
    const act = (who: Who, vm: Instance, body: unknown) => h.request(who, 'POST', `/servers/${vm.uuid}/action`, { body });

    it('rescue: 200 with an admin password, task rescuing, a cast with the server\'s own image; unrescue: 202', async () => {
      const vm = await h.insertInstance({ owner: 'alice' });
      const res = await act('alice', vm, { rescue: { adminPass: 'secret-pass' } });
      expect(res).toMatchObject({ status: 200, body: { adminPass: 'secret-pass' } });
      expect((await h.instance(vm.uuid))!.task_state).toBe('rescuing');
      expect((await h.castsOf('rescue_instance', 1)).filter((c) => c.args.instance_uuid === vm.uuid)).toEqual([
        expect.objectContaining({ server: 'compute-1', args: expect.objectContaining({ rescue_image_ref: vm.image_ref }) }),
      ]);
      const generated = await act('alice', await h.insertInstance({ owner: 'alice' }), { rescue: null });
      expect((generated.body as { adminPass: string }).adminPass).toMatch(/^[A-Za-z0-9]{12}$/);

      const rescued = await h.insertInstance({ owner: 'alice', vm_state: 'rescued' });
      expect((await act('alice', rescued, { unrescue: null })).status).toBe(202);
      expect((await h.instance(rescued.uuid))!.task_state).toBe('unrescuing');
    });

    it('400 for an unknown rescue image, 409 to unrescue a server that is not rescued or rescue one that is, 404 for another project', async () => {
      const vm = await h.insertInstance({ owner: 'alice' });
      expect((await act('alice', vm, { rescue: { rescue_image_ref: '00000000-0000-4000-8000-000000000000' } })).status).toBe(400);
      expect((await act('alice', vm, { unrescue: null })).status).toBe(409);
      expect((await act('alice', await h.insertInstance({ owner: 'alice', vm_state: 'rescued' }), { rescue: null })).status).toBe(409);
      expect((await act('bob', vm, { rescue: null })).status).toBe(404);
      expect((await h.instance(vm.uuid))!.task_state).toBeNull();
    });
  });
});
