import { addComputeHost, addService, call, compute, MEMBER_TOKEN, startApi, type ApiHarness } from './support';

let h: ApiHarness;
beforeAll(async () => {
  h = await startApi();
  await addService(h.ds, 'controller', 'ferry-scheduler');
  await addService(h.ds, 'controller', 'ferry-api');
  await addComputeHost(h.ds, 'compute-1');
  await addComputeHost(h.ds, 'compute-2', { heartbeatAgeS: 3600 });
  await addComputeHost(h.ds, 'compute-3', { disabled: true });
});
afterAll(async () => h?.close());


describe('GET /os-availability-zone', () => {
  it('names the zones users can place servers in, for members too', async () => {
    const r = await call(h, 'GET', compute('/os-availability-zone'), { token: MEMBER_TOKEN });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ availabilityZoneInfo: [{ zoneName: 'nova', zoneState: { available: true }, hosts: null }] });
  });

  it('shows a zone whose compute services are all disabled as not available', async () => {
    await h.ds.query(`UPDATE services SET disabled = true WHERE "binary" = 'ferry-compute'`);
    try {
      const r = await call(h, 'GET', compute('/os-availability-zone'));
      expect(r.body.availabilityZoneInfo).toEqual([{ zoneName: 'nova', zoneState: { available: false }, hosts: null }]);
    } finally {
      await h.ds.query(`UPDATE services SET disabled = false WHERE "binary" = 'ferry-compute' AND host <> 'compute-3'`);
    }
  });
});

describe('GET /os-availability-zone/detail', () => {
  it('lists hosts per zone with their enabled services, up or down, internal zone included', async () => {
    const r = await call(h, 'GET', compute('/os-availability-zone/detail'));
    expect(r.status).toBe(200);
    const zones = r.body.availabilityZoneInfo;
    expect(zones.map((z: { zoneName: string }) => z.zoneName)).toEqual(['internal', 'nova']);
    const [internal, nova] = zones;
    expect(internal.zoneState).toEqual({ available: true });
    expect(Object.keys(internal.hosts.controller).sort()).toEqual(['ferry-api', 'nova-scheduler']);
    expect(nova.hosts['compute-1']['nova-compute']).toEqual({
      available: true, active: true, updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/),
    });
    expect(nova.hosts['compute-2']['nova-compute'].available).toBe(false);
    // Disabled services are left out of the hosts.
    expect(nova.hosts['compute-3']).toBeUndefined();
  });

  it('puts each compute service in its node\'s zone', async () => {
    // The column arrives with a later schema migration; reading it must work with or without it.
    await h.ds.query('ALTER TABLE compute_nodes ADD COLUMN IF NOT EXISTS availability_zone text');
    await h.ds.query(`UPDATE compute_nodes SET availability_zone = 'edge' WHERE host = 'compute-2'`);
    const zones = (await call(h, 'GET', compute('/os-availability-zone'))).body.availabilityZoneInfo;
    expect(zones.map((z: { zoneName: string }) => z.zoneName)).toEqual(['edge', 'nova']);
    const services = (await call(h, 'GET', compute('/os-services?binary=ferry-compute'))).body.services;
    expect(services.map((s: { host: string; zone: string }) => `${s.host}:${s.zone}`)).toEqual(['compute-1:nova', 'compute-2:edge', 'compute-3:nova']);
  });

  it('is admin only', async () => {
    const r = await call(h, 'GET', compute('/os-availability-zone/detail'), { token: MEMBER_TOKEN });
    expect(r.status).toBe(403);
    expect(r.body.forbidden.message).toBe("Policy doesn't allow os_compute_api:os-availability-zone:detail to be performed.");
  });
});
