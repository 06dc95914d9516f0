// GET /limits: absolute limits and usage per project, per microversion; other projects for admins only.
import { ApiHarness } from './support';

const LIMITS_21 = [
  'maxImageMeta', 'maxPersonality', 'maxPersonalitySize', 'maxSecurityGroupRules', 'maxSecurityGroups', 'maxServerGroupMembers',
  'maxServerGroups', 'maxServerMeta', 'maxTotalCores', 'maxTotalFloatingIps', 'maxTotalInstances', 'maxTotalKeypairs', 'maxTotalRAMSize',
  'totalCoresUsed', 'totalFloatingIpsUsed', 'totalInstancesUsed', 'totalRAMUsed', 'totalSecurityGroupsUsed', 'totalServerGroupsUsed',
];

describe('GET /limits', () => {
  let h: ApiHarness;

  beforeAll(async () => {
    h = await ApiHarness.start();
    const medium = { id: 3, flavorid: '3', name: 'm1.medium', vcpus: 2, memory_mb: 4096, root_gb: 40, ephemeral_gb: 0, swap: 0, extra_specs: {} };
    await h.insertInstance({ owner: 'alice' });
    await h.insertInstance({ owner: 'carol', flavor: medium });
    await h.insertInstance({ owner: 'alice', vm_state: 'deleted', deleted_at: new Date() });
    await h.insertInstance({ owner: 'bob', flavor: medium });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("reports Nova's default limits and what the caller's project uses", async () => {
    const res = await h.request('alice', 'GET', '/limits');
    expect(res.status).toBe(200);
    expect(res.body.limits.rate).toEqual([]);
    expect(Object.keys(res.body.limits.absolute).sort()).toEqual(LIMITS_21);
    expect(res.body.limits.absolute).toMatchObject({
      maxTotalInstances: 10, maxTotalCores: 20, maxTotalRAMSize: 51200, maxServerMeta: 128, maxImageMeta: 128, maxTotalKeypairs: 100,
      maxTotalFloatingIps: -1, maxSecurityGroups: -1, totalInstancesUsed: 2, totalCoresUsed: 3, totalRAMUsed: 4608, totalFloatingIpsUsed: 0,
    });
  });

  it('drops network limits at 2.36, maxImageMeta at 2.39, personality at 2.57', async () => {
    const keys = async (version: string) => Object.keys((await h.request('alice', 'GET', '/limits', { version })).body.limits.absolute);
    const at236 = await keys('2.36');
    expect(at236).not.toEqual(expect.arrayContaining(['maxSecurityGroups']));
    for (const k of ['maxSecurityGroups', 'maxSecurityGroupRules', 'maxTotalFloatingIps', 'totalFloatingIpsUsed', 'totalSecurityGroupsUsed']) expect(at236).not.toContain(k);
    expect(at236).toContain('maxImageMeta');
    expect(await keys('2.39')).not.toContain('maxImageMeta');
    const at257 = await keys('2.57');
    expect(at257).not.toContain('maxPersonality');
    expect(at257.sort()).toEqual([
      'maxServerGroupMembers', 'maxServerGroups', 'maxServerMeta', 'maxTotalCores', 'maxTotalInstances', 'maxTotalKeypairs', 'maxTotalRAMSize',
      'totalCoresUsed', 'totalInstancesUsed', 'totalRAMUsed', 'totalServerGroupsUsed',
    ]);
  });

  it('answers an admin about another project with tenant_id; a member gets a 403', async () => {
    const admin = await h.request('admin', 'GET', '/limits?tenant_id=p-two');
    expect(admin.body.limits.absolute).toMatchObject({ totalInstancesUsed: 1, totalCoresUsed: 2, totalRAMUsed: 4096 });
    expect((await h.request('admin', 'GET', '/limits')).body.limits.absolute.totalInstancesUsed).toBe(0);
    expect(await h.request('alice', 'GET', '/limits?tenant_id=p-two')).toMatchObject({
      status: 403, body: { forbidden: { message: "Policy doesn't allow os_compute_api:limits:other_project to be performed." } },
    });
  });

  it('refuses unknown parameters from 2.75 only', async () => {
    expect((await h.request('alice', 'GET', '/limits?color=red', { version: '2.74' })).status).toBe(200);
    expect((await h.request('alice', 'GET', '/limits?color=red', { version: '2.75' })).status).toBe(400);
  });
});
