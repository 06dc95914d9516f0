import { addComputeHost, addService, call, compute, insertInstance, insertMigration, MEMBER_TOKEN, startApi, type ApiHarness, type Json } from './support';

let h: ApiHarness;
beforeAll(async () => {
  h = await startApi();
  await addService(h.ds, 'controller', 'ferry-api');
  await addService(h.ds, 'controller', 'ferry-scheduler');
  await addComputeHost(h.ds, 'compute-1');
  await addComputeHost(h.ds, 'compute-2', { heartbeatAgeS: 3600 });
  await addComputeHost(h.ds, 'compute-3', { forcedDown: true, disabled: true, disabledReason: 'maintenance' });
  await addComputeHost(h.ds, 'compute-4', { heartbeatAgeS: null });
});
afterAll(async () => h?.close());

const list = (q = '', version?: string, token?: string) => call(h, 'GET', compute(`/os-services${q}`), { version, token });
const byHost = (services: Json[], host: string, binary = 'nova-compute'): Json => services.find((s) => s.host === host && s.binary === binary);
const serviceRow = async (host: string) => (await h.ds.query(`SELECT * FROM services WHERE host = $1 AND "binary" = 'ferry-compute'`, [host]))[0];

describe('GET /os-services', () => {
  it("reports a compute service in its node's availability zone", async () => {
    await h.ds.query(`UPDATE compute_nodes SET availability_zone = 'rack-b' WHERE host = 'compute-4'`);
    try {
      expect(byHost((await list()).body.services, 'compute-4')).toMatchObject({ zone: 'rack-b' });
    } finally {
      await h.ds.query(`UPDATE compute_nodes SET availability_zone = 'nova' WHERE host = 'compute-4'`);
    }
  });

  it("lists every service but the API's, by Nova's binary names, with zone, status and heartbeat state (2.1 shape)", async () => {
    const r = await list();
    expect(r.status).toBe(200);
    expect(r.body.services.map((s: { host: string; binary: string }) => `${s.binary}@${s.host}`)).toEqual([
      'nova-scheduler@controller', 'nova-compute@compute-1', 'nova-compute@compute-2', 'nova-compute@compute-3', 'nova-compute@compute-4',
    ]);
    const scheduler = byHost(r.body.services, 'controller', 'nova-scheduler');
    expect(scheduler).toEqual({
      id: expect.any(Number), binary: 'nova-scheduler', host: 'controller', zone: 'internal', status: 'enabled', state: 'up',
      updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/), disabled_reason: null,
    });
    expect(byHost(r.body.services, 'compute-1')).toMatchObject({ zone: 'nova', status: 'enabled', state: 'up' });
    expect(byHost(r.body.services, 'compute-2')).toMatchObject({ state: 'down' });
    expect(byHost(r.body.services, 'compute-3')).toMatchObject({ state: 'down', status: 'disabled', disabled_reason: 'maintenance' });
    expect(byHost(r.body.services, 'compute-4')).toMatchObject({ state: 'down' });
  });

  it('adds forced_down at 2.11 and uuid ids at 2.53', async () => {
    const at211 = byHost((await list('', '2.11')).body.services, 'compute-3');
    expect(at211).toMatchObject({ forced_down: true, id: expect.any(Number) });
    const at253 = (await list('', '2.53')).body.services;
    expect(byHost(at253, 'compute-3').id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(at253.map((s: { id: string }) => s.id)).size).toBe(at253.length);
    expect((await list('', '2.53')).body.services).toEqual(at253);
  });

  it('filters by host and binary', async () => {
    const r = await list('?host=controller&binary=nova-scheduler');
    expect(r.body.services.map((s: { binary: string }) => s.binary)).toEqual(['nova-scheduler']);
    expect((await list('?binary=nova-compute')).body.services).toHaveLength(4);
    // Ferry's own names are understood too; the API service is not listed under either.
    expect((await list('?binary=ferry-compute')).body.services.map((s: { binary: string }) => s.binary)).toEqual(Array(4).fill('nova-compute'));
    expect((await list('?binary=ferry-api')).body.services).toEqual([]);
    expect((await list('?binary=nova-conductor')).body.services).toEqual([]);
    expect((await list('?host=nowhere')).body.services).toEqual([]);
  });

  it('ignores unknown parameters before 2.75 and rejects them from 2.75', async () => {
    expect((await list('?zone=nova', '2.74')).status).toBe(200);
    const r = await list('?zone=nova', '2.75');
    expect(r.status).toBe(400);
    expect(r.body.badRequest.message).toBe("Additional properties are not allowed ('zone' was unexpected)");
  });

  it('is admin only', async () => {
    const r = await list('', undefined, MEMBER_TOKEN);
    expect(r.status).toBe(403);
    expect(r.body).toEqual({ forbidden: { code: 403, message: "Policy doesn't allow os_compute_api:os-services:list to be performed." } });
  });
});

describe('PUT /os-services/{action} (before 2.53)', () => {
  const put = (action: string, body: unknown, version = '2.1', token?: string) => call(h, 'PUT', compute(`/os-services/${action}`), { version, body, token });

  it('disables and enables a compute service', async () => {
    const off = await put('disable', { host: 'compute-1', binary: 'nova-compute' });
    expect(off.status).toBe(200);
    expect(off.body).toEqual({ service: { host: 'compute-1', binary: 'nova-compute', status: 'disabled' } });
    expect(await serviceRow('compute-1')).toMatchObject({ disabled: true, disabled_reason: null });
    const on = await put('enable', { host: 'compute-1', binary: 'nova-compute' });
    expect(on.body).toEqual({ service: { host: 'compute-1', binary: 'nova-compute', status: 'enabled' } });
    expect(await serviceRow('compute-1')).toMatchObject({ disabled: false });
  });

  it("also takes Ferry's own binary name, echoing the name it was sent", async () => {
    const off = await put('disable', { host: 'compute-1', binary: 'ferry-compute' });
    expect(off.body).toEqual({ service: { host: 'compute-1', binary: 'ferry-compute', status: 'disabled' } });
    expect(await serviceRow('compute-1')).toMatchObject({ disabled: true });
    expect(byHost((await list('?host=compute-1')).body.services, 'compute-1')).toMatchObject({ binary: 'nova-compute', status: 'disabled' });
    await put('enable', { host: 'compute-1', binary: 'ferry-compute' });
    expect(await serviceRow('compute-1')).toMatchObject({ disabled: false });
    const api = await put('disable', { host: 'controller', binary: 'ferry-api' });
    expect(api.body.badRequest.message).toBe('Updating a ferry-api service is not supported. Only nova-compute services can be updated.');
  });

  it('disables with a logged reason, which it requires', async () => {
    const r = await put('disable-log-reason', { host: 'compute-1', binary: 'nova-compute', disabled_reason: 'disk swap' });
    expect(r.body).toEqual({ service: { host: 'compute-1', binary: 'nova-compute', status: 'disabled', disabled_reason: 'disk swap' } });
    expect((await list('?host=compute-1')).body.services[0]).toMatchObject({ status: 'disabled', disabled_reason: 'disk swap' });
    const missing = await put('disable-log-reason', { host: 'compute-1', binary: 'nova-compute' });
    expect(missing.status).toBe(400);
    expect(missing.body.badRequest.message).toBe('Missing disabled reason field');
    await put('enable', { host: 'compute-1', binary: 'nova-compute' });
    expect(await serviceRow('compute-1')).toMatchObject({ disabled: false, disabled_reason: null });
  });

  it('forces a service down and up from 2.11 only', async () => {
    expect((await put('force-down', { host: 'compute-1', binary: 'nova-compute', forced_down: true }, '2.10')).status).toBe(400);
    expect((await put('force-down', { host: 'compute-1', binary: 'nova-compute' }, '2.10')).status).toBe(404);
    const down = await put('force-down', { host: 'compute-1', binary: 'nova-compute', forced_down: true }, '2.11');
    expect(down.body).toEqual({ service: { host: 'compute-1', binary: 'nova-compute', forced_down: true } });
    expect(byHost((await list('', '2.11')).body.services, 'compute-1')).toMatchObject({ forced_down: true, state: 'down' });
    const up = await put('force-down', { host: 'compute-1', binary: 'nova-compute', forced_down: 'false' }, '2.11');
    expect(up.body.service.forced_down).toBe(false);
    expect(byHost((await list('', '2.11')).body.services, 'compute-1')).toMatchObject({ forced_down: false, state: 'up' });
    const missing = await put('force-down', { host: 'compute-1', binary: 'nova-compute' }, '2.11');
    expect(missing.body.badRequest.message).toBe('Missing forced_down field');
  });

  it('refuses to force a host up while an evacuation from it is still done', async () => {
    const inst = await insertInstance(h.ds, { host: 'compute-2' });
    const mig = await insertMigration(h.ds, { instance_uuid: inst.uuid, migration_type: 'evacuation', status: 'done', source_compute: 'compute-4', dest_compute: 'compute-2' });
    const r = await put('force-down', { host: 'compute-4', binary: 'nova-compute', forced_down: false }, '2.11');
    expect(r.status).toBe(400);
    expect(r.body.badRequest.message).toMatch(/^Unable to force up host compute-4 as `done` evacuation migration records remain/);
    await h.ds.query(`UPDATE migrations SET status = 'completed' WHERE id = $1`, [mig.id]);
    expect((await put('force-down', { host: 'compute-4', binary: 'nova-compute', forced_down: false }, '2.11')).status).toBe(200);
  });

  it('answers 404 to an unknown action or service, 400 to a non-compute service', async () => {
    const unknown = await put('reboot', { host: 'compute-1', binary: 'nova-compute' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.itemNotFound.message).toBe('Unknown action');
    const missing = await put('disable', { host: 'compute-9', binary: 'nova-compute' });
    expect(missing.status).toBe(404);
    expect(missing.body.itemNotFound.message).toBe('Could not find binary nova-compute on host compute-9.');
    const scheduler = await put('disable', { host: 'controller', binary: 'nova-scheduler' });
    expect(scheduler.status).toBe(400);
    expect(scheduler.body.badRequest.message).toBe('Updating a nova-scheduler service is not supported. Only nova-compute services can be updated.');
  });

  it.each([
    ['no host', { binary: 'nova-compute' }, "'host' is a required property"],
    ['no binary', { host: 'compute-1' }, "'binary' is a required property"],
    ['a 2.53 field', { host: 'compute-1', binary: 'nova-compute', status: 'disabled' }, "Additional properties are not allowed ('status' was unexpected)"],
    ['a bad host name', { host: 'compute 1', binary: 'nova-compute' }, /host/],
    ['an empty reason', { host: 'compute-1', binary: 'nova-compute', disabled_reason: '' }, /disabled_reason/],
  ])('answers 400 to a body with %s', async (_label, body, message) => {
    const r = await put('disable-log-reason', body);
    expect(r.status).toBe(400);
    if (typeof message === 'string') expect(r.body.badRequest.message).toBe(message);
    else expect(r.body.badRequest.message).toMatch(message);
  });

  it('is admin only', async () => {
    const r = await put('disable', { host: 'compute-1', binary: 'nova-compute' }, '2.1', MEMBER_TOKEN);
    expect(r.status).toBe(403);
    expect(r.body.forbidden.message).toBe("Policy doesn't allow os_compute_api:os-services:update to be performed.");
  });
});

describe('PUT /os-services/{uuid} (2.53)', () => {
  const uuidOf = async (host: string, binary = 'nova-compute') => byHost((await list('', '2.53')).body.services, host, binary).id as string;
  const put = (id: string, body: unknown, token?: string) => call(h, 'PUT', compute(`/os-services/${id}`), { version: '2.53', body, token });

  it('disables with a reason and answers the whole service', async () => {
    const id = await uuidOf('compute-1');
    const r = await put(id, { status: 'disabled', disabled_reason: 'rack move' });
    expect(r.status).toBe(200);
    expect(r.body.service).toMatchObject({ id, host: 'compute-1', binary: 'nova-compute', status: 'disabled', disabled_reason: 'rack move', forced_down: false, zone: 'nova', state: 'up' });
    const on = await put(id, { status: 'enabled' });
    expect(on.body.service).toMatchObject({ status: 'enabled', disabled_reason: null });
  });

  it('forces down and up, alone or with a status change', async () => {
    const id = await uuidOf('compute-1');
    expect((await put(id, { forced_down: true, status: 'disabled' })).body.service).toMatchObject({ forced_down: true, state: 'down', status: 'disabled' });
    expect((await put(id, { forced_down: 'no', status: 'enabled' })).body.service).toMatchObject({ forced_down: false, state: 'up', status: 'enabled' });
  });

  it('answers 400 to nothing to do, an enable with a reason, or a non-compute service', async () => {
    const id = await uuidOf('compute-1');
    expect((await put(id, {})).body.badRequest.message).toBe("No updates were requested. Fields 'status' or 'forced_down' should be specified.");
    expect((await put(id, { disabled_reason: 'alone' })).status).toBe(400);
    expect((await put(id, { status: 'enabled', disabled_reason: 'why' })).body.badRequest.message).toBe("Specifying 'disabled_reason' with status 'enabled' is invalid.");
    expect((await put(id, { host: 'compute-1', binary: 'nova-compute' })).body.badRequest.message).toBe("Additional properties are not allowed ('binary', 'host' were unexpected)");
    expect((await put(id, { status: 'asleep' })).status).toBe(400);
    const scheduler = await put(await uuidOf('controller', 'nova-scheduler'), { status: 'disabled' });
    expect(scheduler.body.badRequest.message).toBe('Updating a nova-scheduler service is not supported. Only nova-compute services can be updated.');
  });

  it('answers 400 to a malformed id and 404 to an unknown one', async () => {
    const bad = await put('disable', { status: 'disabled' });
    expect(bad.status).toBe(400);
    expect(bad.body.badRequest.message).toBe('Invalid uuid disable');
    const unknown = await put('2b3ec8a6-5a1e-4f55-9c39-6a6e3d4b1c00', { status: 'disabled' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.itemNotFound.message).toBe('Service 2b3ec8a6-5a1e-4f55-9c39-6a6e3d4b1c00 could not be found.');
  });

  it('is admin only', async () => {
    expect((await put(await uuidOf('compute-1'), { status: 'disabled' }, MEMBER_TOKEN)).status).toBe(403);
  });
});

describe('DELETE /os-services/{id}', () => {
  it('refuses a compute service hosting instances or unfinished moves, then deletes it with its node', async () => {
    await addComputeHost(h.ds, 'compute-9');
    const id = byHost((await list('', '2.53')).body.services, 'compute-9').id;
    const inst = await insertInstance(h.ds, { host: 'compute-9' });
    const hosting = await call(h, 'DELETE', compute(`/os-services/${id}`), { version: '2.53' });
    expect(hosting.status).toBe(409);
    expect(hosting.body.conflictingRequest.message).toBe('Unable to delete compute service that is hosting instances. Migrate or delete the instances first.');

    await h.ds.query(`UPDATE instances SET host = 'compute-1' WHERE uuid = $1`, [inst.uuid]);
    const mig = await insertMigration(h.ds, { instance_uuid: inst.uuid, migration_type: 'live-migration', status: 'running', source_compute: 'compute-9', dest_compute: 'compute-1' });
    const moving = await call(h, 'DELETE', compute(`/os-services/${id}`), { version: '2.53' });
    expect(moving.status).toBe(409);
    expect(moving.body.conflictingRequest.message).toMatch(/in-progress migrations/);

    await h.ds.query(`UPDATE migrations SET status = 'completed' WHERE id = $1`, [mig.id]);
    const done = await call(h, 'DELETE', compute(`/os-services/${id}`), { version: '2.53' });
    expect(done.status).toBe(204);
    expect(await h.ds.query(`SELECT 1 FROM compute_nodes WHERE host = 'compute-9'`)).toEqual([]);
    expect((await list('?host=compute-9')).body.services).toEqual([]);
    expect((await call(h, 'DELETE', compute(`/os-services/${id}`), { version: '2.53' })).status).toBe(404);
  });

  it('deletes by integer id before 2.53, where a non-integer is a 400', async () => {
    await addService(h.ds, 'old-controller', 'ferry-scheduler');
    const svc = byHost((await list('?host=old-controller')).body.services, 'old-controller', 'nova-scheduler');
    expect((await call(h, 'DELETE', compute(`/os-services/${svc.id}`))).status).toBe(204);
    expect((await call(h, 'DELETE', compute(`/os-services/${svc.id}`))).body.itemNotFound.message).toBe(`Service ${svc.id} not found.`);
    expect((await call(h, 'DELETE', compute('/os-services/abc'))).status).toBe(400);
    expect((await call(h, 'DELETE', compute('/os-services/1'), { version: '2.53' })).body.badRequest.message).toBe('Invalid uuid 1');
  });

  it('is admin only', async () => {
    const r = await call(h, 'DELETE', compute('/os-services/1'), { token: MEMBER_TOKEN });
    expect(r.status).toBe(403);
    expect(r.body.forbidden.message).toBe("Policy doesn't allow os_compute_api:os-services:delete to be performed.");
  });
});
