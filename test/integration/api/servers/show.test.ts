// GET and PUT /servers/{id}: the server's shape per microversion and per caller, and who may see it.
import { createHash } from 'node:crypto';
import { CIRROS_IMAGE_ID, InstanceFault } from '@ferry/common/db';
import { ApiHarness, PUBLIC_URL } from './support';

const CORE_KEYS = [
  'OS-DCF:diskConfig', 'accessIPv4', 'accessIPv6', 'addresses', 'created', 'flavor', 'hostId', 'id', 'image', 'links', 'metadata', 'name',
  'status', 'tenant_id', 'updated', 'user_id',
];
const MEMBER_KEYS_21 = [
  ...CORE_KEYS, 'OS-EXT-AZ:availability_zone', 'OS-EXT-STS:power_state', 'OS-EXT-STS:task_state', 'OS-EXT-STS:vm_state',
  'OS-SRV-USG:launched_at', 'OS-SRV-USG:terminated_at', 'config_drive', 'key_name', 'os-extended-volumes:volumes_attached', 'progress',
  'security_groups',
].sort();
const ADMIN_ONLY_21 = ['OS-EXT-SRV-ATTR:host', 'OS-EXT-SRV-ATTR:hypervisor_hostname', 'OS-EXT-SRV-ATTR:instance_name'];
const ADMIN_ONLY_23 = [
  'OS-EXT-SRV-ATTR:hostname', 'OS-EXT-SRV-ATTR:kernel_id', 'OS-EXT-SRV-ATTR:launch_index', 'OS-EXT-SRV-ATTR:ramdisk_id',
  'OS-EXT-SRV-ATTR:reservation_id', 'OS-EXT-SRV-ATTR:root_device_name', 'OS-EXT-SRV-ATTR:user_data',
];

describe('GET /servers/{id}', () => {
  let h: ApiHarness;

  beforeAll(async () => {
    h = await ApiHarness.start();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('shows a member the fields of 2.1 and no host fields; an admin also the OS-EXT-SRV-ATTR fields', async () => {
    const vm = await h.insertInstance({ display_name: 'vm-a', metadata: { a: 'b' } });
    const asMember = await h.request('alice', 'GET', `/servers/${vm.uuid}`);
    expect(asMember.status).toBe(200);
    expect(asMember.headers['openstack-api-version']).toBe('compute 2.1');
    expect(Object.keys(asMember.body.server).sort()).toEqual(MEMBER_KEYS_21);
    expect(asMember.body.server).toMatchObject({
      id: vm.uuid, name: 'vm-a', status: 'ACTIVE', tenant_id: 'p-one', user_id: 'u-alice', metadata: { a: 'b' }, addresses: {},
      hostId: createHash('sha224').update('p-onecompute-1').digest('hex'),
      image: { id: CIRROS_IMAGE_ID, links: [{ rel: 'bookmark', href: `${PUBLIC_URL}/compute/images/${CIRROS_IMAGE_ID}` }] },
      flavor: { id: '1', links: [{ rel: 'bookmark', href: `${PUBLIC_URL}/compute/flavors/1` }] },
      'OS-EXT-STS:vm_state': 'active', 'OS-EXT-STS:task_state': null, 'OS-EXT-STS:power_state': 1,
      'OS-EXT-AZ:availability_zone': 'nova', 'OS-SRV-USG:launched_at': expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/),
      created: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/), progress: 0, security_groups: [{ name: 'default' }],
      'os-extended-volumes:volumes_attached': [], config_drive: '', key_name: null, accessIPv4: '', 'OS-DCF:diskConfig': 'MANUAL',
    });

    const asAdmin = await h.request('admin', 'GET', `/servers/${vm.uuid}`);
    expect(Object.keys(asAdmin.body.server).sort()).toEqual([...MEMBER_KEYS_21, ...ADMIN_ONLY_21].sort());
    expect(asAdmin.body.server).toMatchObject({ 'OS-EXT-SRV-ATTR:host': 'compute-1', 'OS-EXT-SRV-ATTR:hypervisor_hostname': 'compute-1.local' });
    const at23 = await h.request('admin', 'GET', `/servers/${vm.uuid}`, { version: '2.3' });
    expect(Object.keys(at23.body.server).sort()).toEqual([...MEMBER_KEYS_21, ...ADMIN_ONLY_21, ...ADMIN_ONLY_23].sort());
  });

  it('embeds the flavor from 2.47', async () => {
    const vm = await h.insertInstance({ flavor: { id: 2, flavorid: '2', name: 'm1.small', vcpus: 1, memory_mb: 2048, root_gb: 20, ephemeral_gb: 0, swap: 0, extra_specs: { 'hw:cpu_policy': 'shared' } } });
    const at246 = await h.request('alice', 'GET', `/servers/${vm.uuid}`, { version: '2.46' });
    expect(at246.body.server.flavor).toEqual({ id: '2', links: [{ rel: 'bookmark', href: `${PUBLIC_URL}/compute/flavors/2` }] });
    const at247 = await h.request('alice', 'GET', `/servers/${vm.uuid}`, { version: '2.47' });
    expect(at247.body.server.flavor).toEqual({ original_name: 'm1.small', vcpus: 1, ram: 2048, disk: 20, ephemeral: 0, swap: 0, extra_specs: { 'hw:cpu_policy': 'shared' } });
  });

  it('adds fields at the microversions that introduced them', async () => {
    const vm = await h.insertInstance({ locked: true, locked_by: 'admin', locked_reason: 'maintenance', system_metadata: { display_description: 'about', tags: '["t1"]' } });
    const fields: [string, string, unknown][] = [
      ['2.9', 'locked', true], ['2.19', 'description', 'about'], ['2.26', 'tags', ['t1']], ['2.63', 'trusted_image_certificates', null],
      ['2.71', 'server_groups', []], ['2.73', 'locked_reason', 'maintenance'],
    ];
    for (const [version, key, value] of fields) {
      const [major, minor] = version.split('.').map(Number);
      const before = await h.request('alice', 'GET', `/servers/${vm.uuid}`, { version: `${major}.${minor! - 1}` });
      const at = await h.request('alice', 'GET', `/servers/${vm.uuid}`, { version });
      expect({ version, key, before: key in before.body.server, at: at.body.server[key] }).toEqual({ version, key, before: false, at: value });
    }
  });

  it('shows host_status from 2.16 to admins only', async () => {
    const vm = await h.insertInstance({ host: 'compute-2', node: 'compute-2.local' });
    expect((await h.request('admin', 'GET', `/servers/${vm.uuid}`, { version: '2.15' })).body.server).not.toHaveProperty('host_status');
    expect((await h.request('alice', 'GET', `/servers/${vm.uuid}`, { version: '2.16' })).body.server).not.toHaveProperty('host_status');
    expect((await h.request('admin', 'GET', `/servers/${vm.uuid}`, { version: '2.16' })).body.server.host_status).toBe('UP');
    await h.setServiceDown('compute-2', true);
    expect((await h.request('admin', 'GET', `/servers/${vm.uuid}`, { version: '2.16' })).body.server.host_status).toBe('UNKNOWN');
    await h.ds.query(`UPDATE services SET disabled = true WHERE host = 'compute-2'`);
    expect((await h.request('admin', 'GET', `/servers/${vm.uuid}`, { version: '2.16' })).body.server.host_status).toBe('MAINTENANCE');
    await h.ds.query(`UPDATE services SET disabled = false WHERE host = 'compute-2'`);
    await h.setServiceDown('compute-2', false);
    const building = await h.insertInstance({ host: null, node: null, vm_state: 'building', task_state: 'scheduling' });
    expect((await h.request('admin', 'GET', `/servers/${building.uuid}`, { version: '2.16' })).body.server.host_status).toBe('');
  });

  it('shows the latest fault of an ERROR server, with details for admins (and for non-500 faults)', async () => {
    const vm = await h.insertInstance({ vm_state: 'error', power_state: 0 });
    const faults = h.ds.getRepository(InstanceFault);
    await faults.save({ instance_uuid: vm.uuid, code: 500, message: 'old', details: 'old trace', created_at: new Date(Date.now() - 60_000) });
    await faults.save({ instance_uuid: vm.uuid, code: 500, message: 'No valid host was found.', details: 'Traceback ...' });
    const asMember = (await h.request('alice', 'GET', `/servers/${vm.uuid}`)).body.server;
    expect(asMember.status).toBe('ERROR');
    expect(asMember.fault).toEqual({ code: 500, message: 'No valid host was found.', created: expect.stringMatching(/Z$/) });
    expect(asMember).not.toHaveProperty('progress');
    const asAdmin = (await h.request('admin', 'GET', `/servers/${vm.uuid}`)).body.server;
    expect(asAdmin.fault).toMatchObject({ code: 500, details: 'Traceback ...' });
    await faults.save({ instance_uuid: vm.uuid, code: 400, message: 'bad', details: 'why' });
    expect((await h.request('alice', 'GET', `/servers/${vm.uuid}`)).body.server.fault).toMatchObject({ code: 400, details: 'why' });
    const active = await h.insertInstance();
    await faults.save({ instance_uuid: active.uuid, code: 500, message: 'stale' });
    expect((await h.request('alice', 'GET', `/servers/${active.uuid}`)).body.server).not.toHaveProperty('fault');
  });

  it('shows statuses from vm_state and task_state', async () => {
    const cases: [string, string | null, string][] = [
      ['active', 'rebooting', 'REBOOT'], ['active', 'rebooting_hard', 'HARD_REBOOT'], ['stopped', null, 'SHUTOFF'], ['paused', null, 'PAUSED'],
      ['building', 'scheduling', 'BUILD'], ['resized', null, 'VERIFY_RESIZE'], ['active', 'migrating', 'MIGRATING'],
    ];
    for (const [vm_state, task_state, status] of cases) {
      const vm = await h.insertInstance({ vm_state, task_state });
      expect({ vm_state, task_state, status: (await h.request('alice', 'GET', `/servers/${vm.uuid}`)).body.server.status }).toEqual({ vm_state, task_state, status });
    }
  });

  it('is a 404 for another project, a malformed id, or a deleted server; a 401 without a token', async () => {
    const vm = await h.insertInstance();
    const foreign = await h.request('bob', 'GET', `/servers/${vm.uuid}`);
    expect(foreign).toMatchObject({ status: 404, body: { itemNotFound: { code: 404, message: `Instance ${vm.uuid} could not be found.` } } });
    expect((await h.request('carol', 'GET', `/servers/${vm.uuid}`)).status).toBe(200);
    expect((await h.request('admin', 'GET', `/servers/${vm.uuid}`)).status).toBe(200);
    expect((await h.request('alice', 'GET', '/servers/vm1')).status).toBe(404);
    const gone = await h.insertInstance({ vm_state: 'deleted', deleted_at: new Date() });
    expect((await h.request('alice', 'GET', `/servers/${gone.uuid}`)).status).toBe(404);
    expect((await h.request(null, 'GET', `/servers/${vm.uuid}`)).status).toBe(401);
  });
});

describe('PUT /servers/{id}', () => {
  let h: ApiHarness;

  beforeAll(async () => {
    h = await ApiHarness.start();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('renames and describes, answering only the core fields before 2.75 and everything from 2.75', async () => {
    const vm = await h.insertInstance({ system_metadata: { reservation_id: 'r-keepme1' } });
    const renamed = await h.request('alice', 'PUT', `/servers/${vm.uuid}`, { version: '2.19', body: { server: { name: 'renamed', description: 'now described' } } });
    expect(renamed.status).toBe(200);
    expect(Object.keys(renamed.body.server).sort()).toEqual([...CORE_KEYS, 'description', 'locked', 'progress'].sort());
    expect(renamed.body.server).toMatchObject({ name: 'renamed', description: 'now described' });
    const row = (await h.instance(vm.uuid))!;
    expect(row.display_name).toBe('renamed');
    expect(row.system_metadata).toMatchObject({ display_description: 'now described', reservation_id: 'r-keepme1' });

    const cleared = await h.request('alice', 'PUT', `/servers/${vm.uuid}`, { version: '2.75', body: { server: { description: null, accessIPv4: '10.0.0.5' } } });
    expect(cleared.body.server).toMatchObject({ name: 'renamed', description: null, accessIPv4: '10.0.0.5', 'OS-EXT-STS:vm_state': 'active', server_groups: [] });
    expect(cleared.body.server).toHaveProperty('OS-EXT-AZ:availability_zone');
  });

  it('refuses unknown fields, description before 2.19, and other projects', async () => {
    const vm = await h.insertInstance();
    expect((await h.request('alice', 'PUT', `/servers/${vm.uuid}`, { body: { server: { description: 'x' } } })).status).toBe(400);
    expect((await h.request('alice', 'PUT', `/servers/${vm.uuid}`, { body: { server: { flavorRef: '2' } } })).status).toBe(400);
    expect((await h.request('alice', 'PUT', `/servers/${vm.uuid}`, { body: { server: { name: '' } } })).status).toBe(400);
    expect((await h.request('bob', 'PUT', `/servers/${vm.uuid}`, { body: { server: { name: 'mine' } } })).status).toBe(404);
    expect((await h.instance(vm.uuid))!.display_name).toBe('vm');
  });
});
