// POST /servers: validation per microversion, catalog checks, quota, and what an accepted create writes and casts.
import { CIRROS_IMAGE_ID, Flavor, Image, Instance, InstanceAction } from '@ferry/common/db';
import { ApiHarness, PUBLIC_URL, serverBody } from './support';

describe('POST /servers', () => {
  let h: ApiHarness;

  beforeAll(async () => {
    h = await ApiHarness.start();
  });
  afterAll(async () => {
    await h?.close();
  });

  const instancesOf = (projectId: string) => h.ds.getRepository(Instance).find({ where: { project_id: projectId } });

  describe('accepts a valid request', () => {
    it('writes a building instance, opens its create action, casts to the scheduler and answers 202', async () => {
      const res = await h.request('alice', 'POST', '/servers', { body: serverBody({ name: 'web-1', metadata: { role: 'web' } }) });
      expect(res.status).toBe(202);
      const server = res.body.server;
      expect(Object.keys(server).sort()).toEqual(['OS-DCF:diskConfig', 'adminPass', 'id', 'links', 'security_groups']);
      expect(server).toMatchObject({
        'OS-DCF:diskConfig': 'MANUAL', security_groups: [{ name: 'default' }],
        links: [
          { rel: 'self', href: `${PUBLIC_URL}/compute/v2.1/servers/${server.id}` },
          { rel: 'bookmark', href: `${PUBLIC_URL}/compute/servers/${server.id}` },
        ],
      });
      expect(server.adminPass).toMatch(/^[A-Za-z0-9]{12}$/);
      expect(res.headers.location).toBe(`${PUBLIC_URL}/compute/v2.1/servers/${server.id}`);

      const row = (await h.instance(server.id))!;
      expect(row).toMatchObject({
        display_name: 'web-1', project_id: 'p-one', user_id: 'u-alice', host: null, node: null, vm_state: 'building', task_state: 'scheduling',
        power_state: 0, image_ref: CIRROS_IMAGE_ID, metadata: { role: 'web' },
        flavor: { flavorid: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 512, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} },
      });
      const actions = await h.ds.getRepository(InstanceAction).find({ where: { instance_uuid: server.id } });
      expect(actions).toEqual([expect.objectContaining({ action: 'create', user_id: 'u-alice', project_id: 'p-one', request_id: expect.stringMatching(/^req-/) })]);

      const [cast] = (await h.castsOf('schedule_and_build_instances')).filter((c) => (c.args.instance_uuids as string[]).includes(server.id));
      expect(cast).toMatchObject({
        topic: 'scheduler',
        ctx: { request_id: actions[0]!.request_id, user_id: 'u-alice', project_id: 'p-one', roles: ['member'] },
        args: {
          instance_uuids: [server.id],
          request_spec: { image_ref: CIRROS_IMAGE_ID, project_id: 'p-one', availability_zone: null, num_attempts: 1, flavor: expect.objectContaining({ flavorid: '1' }) },
        },
      });
      expect(cast!.ctx).not.toHaveProperty('is_admin');
    });

    it('takes the flavor by link, the given admin password, and several instances with return_reservation_id', async () => {
      const res = await h.request('bob', 'POST', '/servers', {
        body: serverBody({ flavorRef: `${PUBLIC_URL}/compute/flavors/2`, adminPass: 's3cret', min_count: 2, max_count: '3', return_reservation_id: 'True' }),
      });
      expect(res.status).toBe(202);
      expect(res.body).toEqual({ reservation_id: expect.stringMatching(/^r-[a-z0-9]{8}$/) });
      const rows = await instancesOf('p-two');
      expect(rows).toHaveLength(3);
      expect(new Set(rows.map((r) => r.system_metadata.reservation_id))).toEqual(new Set([res.body.reservation_id]));
      expect(rows.map((r) => r.flavor.name)).toEqual(['m1.small', 'm1.small', 'm1.small']);
      const cast = (await h.castsOf('schedule_and_build_instances', 2)).find((c) => (c.args.instance_uuids as string[]).length === 3);
      expect(new Set(cast!.args.instance_uuids as string[])).toEqual(new Set(rows.map((r) => r.uuid)));
      await h.ds.query(`UPDATE instances SET deleted_at = now() WHERE project_id = 'p-two'`);
    });

    it('accepts networks "auto" and "none" from 2.37, keeps description (2.19) and tags (2.52)', async () => {
      for (const networks of ['auto', 'none']) {
        const res = await h.request('alice', 'POST', '/servers', { version: '2.52', body: serverBody({ networks, description: 'd', tags: ['a', 'b', 'a'] }, '2.52') });
        expect(res.status).toBe(202);
        const row = (await h.instance(res.body.server.id))!;
        expect(row.system_metadata).toMatchObject({ display_description: 'd', tags: '["a","b"]' });
      }
    });
  });

  describe('refuses with 400, writing nothing', () => {
    const cases: [string, string, unknown, RegExp][] = [
      ['an unknown key in server', '2.1', serverBody({ color: 'red' }), /Additional properties are not allowed \('color' was unexpected\)/],
      ['an unknown top-level key', '2.1', { ...serverBody(), extra: 1 }, /'extra' was unexpected/],
      ['a missing flavorRef', '2.1', { server: { name: 'x', imageRef: CIRROS_IMAGE_ID } }, /'flavorRef' is a required property/],
      ['a name of the wrong type', '2.1', serverBody({ name: 42 }), /name/],
      ['a name with leading whitespace', '2.1', serverBody({ name: ' vm' }), /name/],
      ['metadata values that are not strings', '2.1', serverBody({ metadata: { a: 1 } }), /metadata/],
      ['an imageRef that is not a uuid', '2.1', serverBody({ imageRef: 'cirros' }), /imageRef/],
      ['min_count of zero', '2.1', serverBody({ min_count: 0 }), /min_count/],
      ['min_count above max_count', '2.1', serverBody({ min_count: 3, max_count: 2 }), /min_count must be <= max_count/],
      ['an unknown flavor', '2.1', serverBody({ flavorRef: '999' }), /^Flavor 999 could not be found\.$/],
      ['an unknown image', '2.1', serverBody({ imageRef: '00000000-0000-4000-8000-000000000000' }), /^Can not find requested image$/],
      ['no image and no block device', '2.1', { server: { name: 'x', flavorRef: '1' } }, /^Missing imageRef attribute$/],
      ['description before 2.19', '2.18', serverBody({ description: 'd' }), /'description' was unexpected/],
      ['tags before 2.52', '2.51', serverBody({ tags: ['a'] }, '2.51'), /'tags' was unexpected/],
      ['host before 2.74', '2.73', serverBody({ host: 'compute-1' }, '2.73'), /'host' was unexpected/],
      ['missing networks at 2.37', '2.37', { server: { name: 'x', imageRef: CIRROS_IMAGE_ID, flavorRef: '1' } }, /'networks' is a required property/],
      ['networks neither a list nor auto/none at 2.37', '2.37', serverBody({ networks: 'some' }, '2.37'), /networks/],
      ['a network uuid that is not a uuid at 2.37', '2.37', serverBody({ networks: [{ uuid: 'net1' }] }, '2.37'), /networks/],
      ['a network tag before 2.42 (at 2.37)', '2.37', serverBody({ networks: [{ uuid: '00000000-0000-4000-8000-000000000001', tag: 't' }] }, '2.37'), /'tag' was unexpected/],
      ['a malformed network uuid before 2.37', '2.36', serverBody({ networks: [{ uuid: 'net1' }] }), /Bad networks format: network uuid is not in proper format \(net1\)/],
      ['a network Ferry does not have', '2.1', serverBody({ networks: [{ uuid: '00000000-0000-4000-8000-000000000001' }] }), /Network .* could not be found/],
      ['a key pair (Ferry has none)', '2.1', serverBody({ key_name: 'mykey' }), /^Invalid key_name provided\.$/],
      ['an unknown security group', '2.1', serverBody({ security_groups: [{ name: 'web' }] }), /Security group web not found/],
      ['an unknown availability zone', '2.1', serverBody({ availability_zone: 'elsewhere' }), /The requested availability zone is not available/],
      ['a volume block device', '2.1', serverBody({ block_device_mapping_v2: [{ source_type: 'volume', uuid: 'v1', destination_type: 'volume', boot_index: 0 }] }), /Block Device Mapping is Invalid/],
      ['a migration policy value the knob refuses', '2.1', serverBody({ metadata: { 'ferry:migration_policy:max_downtime_ms': 'long' } }), /^Invalid input for field\/attribute metadata: ferry:migration_policy:max_downtime_ms must be an integer from 100 to 600000, not "long"$/],
      ['a bad value of the older bandwidth key', '2.1', serverBody({ metadata: { 'ferry:migration_bandwidth_mib_s': '0' } }), /ferry:migration_bandwidth_mib_s must be a number of MiB\/s above 0/],
      ['user_data that is not base64', '2.1', serverBody({ user_data: 'abc' }), /user_data/],
      ['an accessIPv4 that is not an address', '2.1', serverBody({ accessIPv4: '300.1.1.1' }), /accessIPv4/],
    ];
    it.each(cases)('%s', async (_label, version, body, message) => {
      const before = (await instancesOf('p-one')).length;
      const res = await h.request('alice', 'POST', '/servers', { version, body });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ badRequest: { code: 400, message: expect.stringMatching(message) } });
      expect(await instancesOf('p-one')).toHaveLength(before);
    });

    it('a disabled flavor, a flavor too small for the image, an image that is not active', async () => {
      await h.ds.getRepository(Flavor).save({ flavorid: 'off', name: 'off', vcpus: 1, memory_mb: 64, root_gb: 1, disabled: true });
      await h.ds.getRepository(Flavor).save({ flavorid: 'small-ram', name: 'small-ram', vcpus: 1, memory_mb: 64, root_gb: 1 });
      await h.ds.getRepository(Image).save({ id: '11111111-1111-4111-8111-111111111111', name: 'big', disk_format: 'qcow2', min_ram: 1024, status: 'active' });
      await h.ds.getRepository(Image).save({ id: '22222222-2222-4222-8222-222222222222', name: 'queued', disk_format: 'qcow2', status: 'queued' });
      const expectations: [Record<string, unknown>, RegExp][] = [
        [{ flavorRef: 'off' }, /^Flavor off could not be found\.$/],
        [{ flavorRef: 'small-ram', imageRef: '11111111-1111-4111-8111-111111111111' }, /Flavor's memory is too small for requested image/],
        [{ imageRef: '22222222-2222-4222-8222-222222222222' }, /Image 22222222-2222-4222-8222-222222222222 is not active/],
      ];
      for (const [overrides, message] of expectations) {
        const res = await h.request('alice', 'POST', '/servers', { body: serverBody(overrides) });
        expect({ status: res.status, message: res.body.badRequest?.message }).toEqual({ status: 400, message: expect.stringMatching(message) });
      }
    });

    it('a malformed JSON body', async () => {
      const res = await h.request('alice', 'POST', '/servers', { body: '{"server": ' });
      expect(res.status).toBe(400);
      expect(res.body.badRequest.message).toMatch(/Malformed request body/);
    });
  });

  describe('policy', () => {
    it('only admins may force a host, by zone:host or (from 2.74) host', async () => {
      const zoneHost = await h.request('alice', 'POST', '/servers', { body: serverBody({ availability_zone: 'nova:compute-2' }) });
      expect(zoneHost.status).toBe(403);
      expect(zoneHost.body.forbidden.message).toMatch(/os_compute_api:servers:create:forced_host/);
      const host = await h.request('alice', 'POST', '/servers', { version: '2.74', body: serverBody({ host: 'compute-2' }, '2.74') });
      expect(host.status).toBe(403);

      const byAdmin = await h.request('admin', 'POST', '/servers', { version: '2.74', body: serverBody({ host: 'compute-2' }, '2.74') });
      expect(byAdmin.status).toBe(202);
      const cast = (await h.castsOf('schedule_and_build_instances', 1)).find((c) => (c.args.instance_uuids as string[]).includes(byAdmin.body.server.id));
      expect(cast!.args.request_spec).toMatchObject({ force_hosts: ['compute-2'] });
      const unknown = await h.request('admin', 'POST', '/servers', { version: '2.74', body: serverBody({ host: 'nowhere' }, '2.74') });
      expect(unknown).toMatchObject({ status: 400, body: { badRequest: { message: 'Compute host nowhere could not be found.' } } });
    });
  });

  describe('quota', () => {
    it('refuses with 403 what does not fit, as Nova words it, and creates as many as fit between min and max', async () => {
      await h.ds.query(`UPDATE instances SET deleted_at = now() WHERE project_id = 'p-one'`);
      // m1.medium: 2 vCPUs, 4096 MB. 20 cores allow 10 of them; instances allow 10.
      const tooMany = await h.request('alice', 'POST', '/servers', { body: serverBody({ flavorRef: '3', min_count: 11 }) });
      expect(tooMany.status).toBe(403);
      expect(tooMany.body.forbidden.message).toBe('Quota exceeded for cores, instances: Requested 22, 11, but already used 0, 0 of 20, 10 cores, instances');
      // m1.large: 4 vCPUs, 8192 MB: 7 of them exceed cores and RAM, not instances.
      const tooBig = await h.request('alice', 'POST', '/servers', { body: serverBody({ flavorRef: '4', min_count: 7 }) });
      expect(tooBig.body.forbidden.message).toBe('Quota exceeded for cores, ram: Requested 28, 57344, but already used 0, 0 of 20, 51200 cores, ram');
      expect(await instancesOf('p-one').then((r) => r.filter((i) => !i.deleted_at))).toHaveLength(0);

      const some = await h.request('alice', 'POST', '/servers', { body: serverBody({ flavorRef: '3', min_count: 2, max_count: 20 }) });
      expect(some.status).toBe(202);
      const live = (await instancesOf('p-one')).filter((i) => !i.deleted_at);
      expect(live).toHaveLength(10);
      const none = await h.request('alice', 'POST', '/servers', { body: serverBody() });
      expect(none.status).toBe(403);
      expect(none.body.forbidden.message).toMatch(/^Quota exceeded for cores, instances: Requested 1, 1, but already used 20, 10 of 20, 10 cores, instances$/);
      await h.ds.query(`UPDATE instances SET deleted_at = now() WHERE project_id = 'p-one'`);
    });

    it('lets concurrent creates together take no more than the quota', async () => {
      const results = await Promise.all(Array.from({ length: 6 }, () => h.request('carol', 'POST', '/servers', { body: serverBody({ flavorRef: '3', min_count: 2, max_count: 2 }) })));
      expect(results.filter((r) => r.status === 202)).toHaveLength(5);
      expect(results.filter((r) => r.status === 403)).toHaveLength(1);
      expect((await instancesOf('p-one')).filter((i) => !i.deleted_at)).toHaveLength(10);
      await h.ds.query(`UPDATE instances SET deleted_at = now() WHERE project_id = 'p-one'`);
    });

    it('more than 128 metadata items is a 403', async () => {
      const metadata = Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`k${i}`, 'v']));
      const res = await h.request('alice', 'POST', '/servers', { body: serverBody({ metadata }) });
      expect(res).toMatchObject({ status: 403, body: { forbidden: { message: 'Maximum number of metadata items exceeds 128' } } });
    });
  });

  it('deletes what it wrote and answers 503 when the bus refuses the cast', async () => {
    const { createTransport } = await import('@ferry/common/rpc');
    const broken = await createTransport({ url: 'inproc://create-broken' });
    await broken.close();
    const original = h.transport.cast.bind(h.transport);
    h.transport.cast = (...args) => broken.cast(...args);
    try {
      const res = await h.request('alice', 'POST', '/servers', { body: serverBody({ name: 'doomed' }) });
      expect(res).toMatchObject({ status: 503, body: { serviceUnavailable: { code: 503 } } });
      const rows = await h.ds.getRepository(Instance).find({ where: { display_name: 'doomed' }, withDeleted: true });
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ vm_state: 'deleted', task_state: null, deleted_at: expect.any(Date) });
    } finally {
      h.transport.cast = original;
    }
  });
});
