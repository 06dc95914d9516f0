// GET /os-hypervisors/{id}/uptime through the assembled API, the bus and real compute services on the fake driver.
import type { FastifyInstance } from 'fastify';
import { buildApp } from '@ferry/api';
import { SETTINGS } from '@ferry/common/config';
import { silentLogger } from '@ferry/common/log';
import { Cluster } from '../compute/cluster';
import { injectToken } from '../../support/tokens';

/** Linux's `uptime` line as the fake host prints it (no one is logged in). */
const UPTIME_LINE = /^ \d\d:\d\d:\d\d up (\d+ days?, )?( ?\d{1,2}:\d\d|\d+ min), {2}0 users, {2}load average: \d+\.\d\d, \d+\.\d\d, \d+\.\d\d$/;

describe('hypervisor uptime from the compute hosts', () => {
  let cluster: Cluster;
  let app: FastifyInstance;
  const tokens: Record<'admin' | 'demo', string> = { admin: '', demo: '' };
  let nodes: { id: number; uuid: string; host: string }[];

  beforeAll(async () => {
    cluster = await Cluster.start('inproc');
    app = buildApp({ config: cluster.config, db: cluster.db, transport: cluster.transport, log: silentLogger(), publicUrl: () => 'http://ferry.test' });
    for (const user of ['admin', 'demo'] as const) {
      const password = user === 'admin' ? SETTINGS.adminPassword.default : SETTINGS.demoPassword.default;
      tokens[user] = await injectToken(app, user, password);
    }
    nodes = await cluster.ds.query('SELECT id, uuid, host FROM compute_nodes ORDER BY id');
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await cluster?.close();
  });

  const uptime = (id: number | string, opts: { version?: string; as?: 'admin' | 'demo' } = {}) => app.inject({
    method: 'GET', url: `/compute/v2.1/os-hypervisors/${id}/uptime`,
    headers: { 'x-auth-token': tokens[opts.as ?? 'admin'], ...(opts.version ? { 'openstack-api-version': `compute ${opts.version}` } : {}) },
  });
  const node = (host: string) => nodes.find((n) => n.host === host)!;

  it("answers each up host's own uptime line, by integer id before 2.53", async () => {
    for (const host of ['compute-1', 'compute-2', 'compute-3']) {
      const res = await uptime(node(host).id);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ hypervisor: { id: node(host).id, hypervisor_hostname: host, state: 'up', status: 'enabled', uptime: expect.stringMatching(UPTIME_LINE) } });
    }
  });

  it('takes the compute node uuid from 2.53, at every microversion Ferry serves', async () => {
    for (const version of ['2.53', '2.80']) {
      const res = await uptime(node('compute-2').uuid, { version });
      expect(res.statusCode).toBe(200);
      expect(res.json().hypervisor).toMatchObject({ id: node('compute-2').uuid, hypervisor_hostname: 'compute-2', uptime: expect.stringMatching(UPTIME_LINE) });
    }
  });

  it('is for admins only', async () => {
    const res = await uptime(node('compute-1').id, { as: 'demo' });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ forbidden: { code: 403, message: "Policy doesn't allow os_compute_api:os-hypervisors:uptime to be performed." } });
  });

  it("does not ask a forced-down compute: Nova's 400", async () => {
    await cluster.ds.query(`UPDATE services SET forced_down = true WHERE host = 'compute-3' AND "binary" = 'ferry-compute'`);
    try {
      const res = await uptime(node('compute-3').id);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({ badRequest: { code: 400, message: 'Compute service of compute-3 is unavailable at this time.' } });
    } finally {
      await cluster.ds.query(`UPDATE services SET forced_down = false WHERE host = 'compute-3' AND "binary" = 'ferry-compute'`);
    }
  });

  it('answers 404 for an unknown hypervisor', async () => {
    expect((await uptime(987654)).statusCode).toBe(404);
    expect((await uptime('0b6f9a34-8a4e-4c2e-9d59-5d1f0e7a1b2c', { version: '2.53' })).statusCode).toBe(404);
  });
});
