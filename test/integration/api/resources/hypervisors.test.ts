import { randomUUID } from 'node:crypto';
import { addComputeHost, addService, call, compute, insertAllocation, insertInstance, MEMBER_TOKEN, PUBLIC_URL, startApi, type ApiHarness } from './support';

let h: ApiHarness;
let nodes: { id: number; uuid: string; host: string }[];
let busy: { uuid: string };
beforeAll(async () => {
  h = await startApi();
  await addComputeHost(h.ds, 'compute-1', { vcpus: 16, memoryMb: 32768, localGb: 500 });
  await addComputeHost(h.ds, 'compute-2', { heartbeatAgeS: 3600 });
  await addComputeHost(h.ds, 'compute-3', { disabled: true, disabledReason: 'maintenance' });
  await addComputeHost(h.ds, 'orphan');
  await h.ds.query(`DELETE FROM services WHERE host = 'orphan'`);
  await addService(h.ds, 'controller', 'ferry-scheduler');
  await h.ds.query(`UPDATE compute_nodes SET reserved_memory_mb = 512, reserved_disk_gb = 10 WHERE host = 'compute-1'`);
  const a = await insertInstance(h.ds, { host: 'compute-1', display_name: 'a' });
  busy = await insertInstance(h.ds, { host: 'compute-1', display_name: 'b', task_state: 'resize_prep' });
  await insertAllocation(h.ds, a.uuid, 'compute-1', 2, 2048, 20);
  await insertAllocation(h.ds, busy.uuid, 'compute-1', 1, 1024, 10);
  // A resize's source claim, held by its migration: still usage on the host.
  await insertAllocation(h.ds, randomUUID(), 'compute-1', 1, 512, 5);
  nodes = await h.ds.query('SELECT id, uuid, host FROM compute_nodes ORDER BY id');
});
afterAll(async () => h?.close());

const get = (path: string, version?: string, token?: string) => call(h, 'GET', compute(path), { version, token });
const node = (host: string) => nodes.find((n) => n.host === host)!;

describe('hypervisor list and detail', () => {
  it('lists nodes that have a compute service, with its state and status', async () => {
    const r = await get('/os-hypervisors');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      hypervisors: [
        { id: node('compute-1').id, hypervisor_hostname: 'compute-1.ferry.test', state: 'up', status: 'enabled' },
        { id: node('compute-2').id, hypervisor_hostname: 'compute-2.ferry.test', state: 'down', status: 'enabled' },
        { id: node('compute-3').id, hypervisor_hostname: 'compute-3.ferry.test', state: 'up', status: 'disabled' },
      ],
    });
  });

  it('details capacity, usage from claims and instances, and the service (2.1 shape)', async () => {
    const r = await get('/os-hypervisors/detail');
    const svc = (await h.ds.query(`SELECT id FROM services WHERE host = 'compute-1' AND "binary" = 'ferry-compute'`))[0];
    expect(r.body.hypervisors[0]).toEqual({
      id: node('compute-1').id, hypervisor_hostname: 'compute-1.ferry.test', state: 'up', status: 'enabled',
      hypervisor_type: 'fake', hypervisor_version: 1000, host_ip: '10.0.0.1',
      service: { id: svc.id, host: 'compute-1', disabled_reason: null },
      vcpus: 16, memory_mb: 32768, local_gb: 500,
      vcpus_used: 4, memory_mb_used: 512 + 3584, local_gb_used: 10 + 35,
      free_ram_mb: 32768 - 4096, free_disk_gb: 500 - 45, disk_available_least: 500 - 45,
      current_workload: 1, running_vms: 2,
      cpu_info: '{"model":"Haswell"}',
    });
    expect(r.body.hypervisors[2].service.disabled_reason).toBe('maintenance');
    expect(JSON.parse(r.body.hypervisors[0].cpu_info)).toEqual({ model: 'Haswell' });
  });

  it('gives cpu_info as an object from 2.28 and uuid ids from 2.53', async () => {
    expect((await get('/os-hypervisors/detail', '2.28')).body.hypervisors[0].cpu_info).toEqual({ model: 'Haswell' });
    const at253 = (await get('/os-hypervisors/detail', '2.53')).body.hypervisors[0];
    expect(at253.id).toBe(node('compute-1').uuid);
    expect(at253.service.id).toMatch(/^[0-9a-f-]{36}$/);
    const services = (await call(h, 'GET', compute('/os-services?host=compute-1'), { version: '2.53' })).body.services;
    expect(at253.service.id).toBe(services[0].id);
  });

  it('pages from 2.33 with limit and marker (the id of the microversion) and a next link', async () => {
    const first = await get('/os-hypervisors?limit=2', '2.33');
    expect(first.body.hypervisors.map((x: { id: number }) => x.id)).toEqual([node('compute-1').id, node('compute-2').id]);
    expect(first.body.hypervisors_links).toEqual([{ rel: 'next', href: `${PUBLIC_URL}/compute/v2.1/os-hypervisors?limit=2&marker=${node('compute-2').id}` }]);
    const second = await get(`/os-hypervisors/detail?limit=2&marker=${node('compute-2').id}`, '2.33');
    expect(second.body.hypervisors.map((x: { id: number }) => x.id)).toEqual([node('compute-3').id]);
    expect(second.body.hypervisors_links).toBeUndefined();
    const byUuid = await get(`/os-hypervisors?limit=1&marker=${node('compute-1').uuid}`, '2.53');
    expect(byUuid.body.hypervisors.map((x: { id: string }) => x.id)).toEqual([node('compute-2').uuid]);
    expect(byUuid.body.hypervisors_links[0].href).toBe(`${PUBLIC_URL}/compute/v2.1/os-hypervisors?limit=1&marker=${node('compute-2').uuid}`);
    // Before 2.33 there is no paging: limit is ignored.
    expect((await get('/os-hypervisors?limit=1', '2.32')).body.hypervisors).toHaveLength(3);
  });

  it('answers 400 to a bad limit or a marker that names no node', async () => {
    expect((await get('/os-hypervisors?limit=x', '2.33')).status).toBe(400);
    for (const [marker, version] of [['999999', '2.33'], ['abc', '2.33'], [node('compute-1').id, '2.53'], [randomUUID(), '2.53']] as const) {
      const r = await get(`/os-hypervisors?marker=${marker}`, version);
      expect(r.status).toBe(400);
      expect(r.body.badRequest.message).toBe(`marker [${marker}] not found`);
    }
  });

  it('searches by hostname pattern from 2.53, without paging, 404 when nothing matches', async () => {
    const r = await get('/os-hypervisors?hypervisor_hostname_pattern=compute-2', '2.53');
    expect(r.body.hypervisors.map((x: { hypervisor_hostname: string }) => x.hypervisor_hostname)).toEqual(['compute-2.ferry.test']);
    expect(r.body.hypervisors_links).toBeUndefined();
    expect((await get('/os-hypervisors/detail?hypervisor_hostname_pattern=COMPUTE', '2.53')).body.hypervisors).toHaveLength(3);
    const none = await get('/os-hypervisors?hypervisor_hostname_pattern=nothing', '2.53');
    expect(none.status).toBe(404);
    expect(none.body.itemNotFound.message).toBe("No hypervisor matching 'nothing' could be found.");
    const paged = await get('/os-hypervisors?hypervisor_hostname_pattern=compute&limit=1', '2.53');
    expect(paged.status).toBe(400);
    expect(paged.body.badRequest.message).toBe('Paging over hypervisors with the hypervisor_hostname_pattern query parameter is not supported.');
    expect((await get('/os-hypervisors?hypervisor_hostname_pattern=a%20b', '2.53')).status).toBe(400);
  });

  it('lists servers on request from 2.53, an empty list for an idle host from 2.75', async () => {
    const r = await get('/os-hypervisors?with_servers=true', '2.53');
    const [c1, c2] = r.body.hypervisors;
    expect(c1.servers).toHaveLength(2);
    expect(c1.servers).toContainEqual({ name: `instance-${busy.uuid.replace(/-/g, '').slice(0, 8)}`, uuid: busy.uuid });
    expect(c2.servers).toBeUndefined();
    expect((await get('/os-hypervisors?with_servers=true', '2.75')).body.hypervisors[1].servers).toEqual([]);
    expect((await get('/os-hypervisors?with_servers=false', '2.75')).body.hypervisors[1].servers).toBeUndefined();
    expect((await get('/os-hypervisors?with_servers=sometimes', '2.53')).status).toBe(400);
  });

  it('rejects unknown and repeated parameters from 2.53', async () => {
    expect((await get('/os-hypervisors?colour=red', '2.52')).status).toBe(200);
    expect((await get('/os-hypervisors?colour=red', '2.53')).body.badRequest.message).toBe("Additional properties are not allowed ('colour' was unexpected)");
    expect((await get('/os-hypervisors?limit=1&limit=2', '2.53')).status).toBe(400);
  });
});

describe('one hypervisor', () => {
  it('shows a node by integer id before 2.53 and by uuid from 2.53', async () => {
    const old = await get(`/os-hypervisors/${node('compute-1').id}`);
    expect(old.body.hypervisor).toMatchObject({ id: node('compute-1').id, running_vms: 2, cpu_info: '{"model":"Haswell"}' });
    const now = await get(`/os-hypervisors/${node('compute-1').uuid}?with_servers=1`, '2.53');
    expect(now.body.hypervisor).toMatchObject({ id: node('compute-1').uuid, cpu_info: { model: 'Haswell' } });
    expect(now.body.hypervisor.servers).toHaveLength(2);
    expect((await get(`/os-hypervisors/${node('compute-2').uuid}?with_servers=true`, '2.75')).body.hypervisor.servers).toEqual([]);
  });

  it('answers 404 to an unknown or non-integer id before 2.53, 400 to a non-uuid from 2.53', async () => {
    expect((await get('/os-hypervisors/424242')).body.itemNotFound.message).toBe("Hypervisor with ID '424242' could not be found.");
    expect((await get('/os-hypervisors/abc')).status).toBe(404);
    expect((await get(`/os-hypervisors/${node('orphan').id}`)).status).toBe(404);
    expect((await get('/os-hypervisors/1', '2.53')).body.badRequest.message).toBe('Invalid uuid 1');
    expect((await get(`/os-hypervisors/${randomUUID()}`, '2.53')).status).toBe(404);
    expect((await get(`/os-hypervisors/${node('compute-1').uuid}?colour=red`, '2.53')).status).toBe(400);
  });

  it("answers uptime of a host whose compute service is down with Nova's 400, after the usual id checks", async () => {
    for (const [id, version] of [[node('compute-2').id, undefined], [node('compute-2').uuid, '2.53']] as const) {
      const r = await get(`/os-hypervisors/${id}/uptime`, version);
      expect(r).toMatchObject({ status: 400, body: { badRequest: { code: 400, message: 'Compute service of compute-2 is unavailable at this time.' } } });
    }
    expect((await get('/os-hypervisors/424242/uptime')).status).toBe(404);
    expect((await get(`/os-hypervisors/${node('orphan').id}/uptime`)).status).toBe(404);
    expect((await get(`/os-hypervisors/${randomUUID()}/uptime`, '2.53')).status).toBe(404);
    expect((await get(`/os-hypervisors/${node('compute-1').id}/uptime`, '2.53')).body.badRequest.message).toBe(`Invalid uuid ${node('compute-1').id}`);
  });
});

describe('deprecated hypervisor routes', () => {
  it('serves search and servers by pattern before 2.53 and 404 from then on', async () => {
    const search = await get('/os-hypervisors/compute/search');
    expect(search.body.hypervisors.map((x: { id: number }) => x.id)).toEqual([node('compute-1').id, node('compute-2').id, node('compute-3').id]);
    expect(search.body.hypervisors[0].servers).toBeUndefined();
    const servers = await get('/os-hypervisors/compute-1/servers');
    expect(servers.body.hypervisors[0].servers).toHaveLength(2);
    expect((await get('/os-hypervisors/nothing/search')).status).toBe(404);
    expect((await get('/os-hypervisors/compute/search', '2.53')).status).toBe(404);
    expect((await get('/os-hypervisors/compute/servers', '2.53')).status).toBe(404);
  });

  it('sums statistics over enabled compute nodes', async () => {
    const r = await get('/os-hypervisors/statistics');
    expect(r.body.hypervisor_statistics).toEqual({
      count: 2, vcpus: 32, memory_mb: 32768 + 65536, local_gb: 1500,
      vcpus_used: 4, memory_mb_used: 4096, local_gb_used: 45,
      free_ram_mb: 32768 + 65536 - 4096, free_disk_gb: 1500 - 45, disk_available_least: 1500 - 45,
      current_workload: 1, running_vms: 2,
    });
  });

  it('offers an empty aggregate list, which `openstack hypervisor show` reads', async () => {
    expect((await get('/os-aggregates')).body).toEqual({ aggregates: [] });
  });
});

describe('hypervisor policy', () => {
  it.each([
    ['/os-hypervisors', 'list'], ['/os-hypervisors/detail', 'list-detail'], ['/os-hypervisors/1', 'show'],
    ['/os-hypervisors/statistics', 'statistics'], ['/os-hypervisors/1/uptime', 'uptime'], ['/os-hypervisors/c/search', 'search'],
    ['/os-hypervisors/c/servers', 'servers'],
  ])('forbids members %s', async (path, rule) => {
    const r = await get(path, undefined, MEMBER_TOKEN);
    expect(r.status).toBe(403);
    expect(r.body).toEqual({ forbidden: { code: 403, message: `Policy doesn't allow os_compute_api:os-hypervisors:${rule} to be performed.` } });
  });
});
