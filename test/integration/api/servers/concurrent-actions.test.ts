// Fifty identical requests for one action on one server, all at once, through the assembled API onto a real scheduler
// and fake computes: exactly one wins and its flow runs; the other 49 are 409s that left no trace.
import type { FastifyInstance } from 'fastify';
import { buildApp } from '@ferry/api';
import { CIRROS_IMAGE_ID, listAllocations } from '@ferry/common/db';
import { silentLogger } from '@ferry/common/log';
import { SETTINGS } from '@ferry/common/config';
import { TERMINATE_EVENT } from '@ferry/compute';
import { Cluster } from '../../compute/cluster';
import { fetchToken } from '../../../support/tokens';

const N = 50;

interface Reply {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

describe('50 identical concurrent actions on one server', () => {
  let cluster: Cluster;
  let app: FastifyInstance;
  let url = '';
  const tokens = { admin: '', member: '' };

  async function call(who: 'admin' | 'member', method: string, path: string, body?: unknown, version = '2.68'): Promise<Reply> {
    const res = await fetch(`${url}/compute/v2.1${path}`, {
      method,
      headers: {
        'x-auth-token': tokens[who], 'openstack-api-version': `compute ${version}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  async function issue(user: 'admin' | 'demo'): Promise<string> {
    const password = user === 'admin' ? SETTINGS.adminPassword.default : SETTINGS.demoPassword.default;
    return fetchToken(url, user, password);
  }

  beforeAll(async () => {
    // A slower fake live migration (a few seconds): a late request must still find the first one running.
    cluster = await Cluster.start('inproc', 'postgres', { fakeLiveTimeScale: 4 });
    app = buildApp({ config: cluster.config, db: cluster.db, transport: cluster.transport, log: silentLogger(), publicUrl: () => url });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    tokens.admin = await issue('admin');
    tokens.member = await issue('demo');
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await cluster?.close();
  });

  /** A member's server, built through the API, the scheduler and a fake compute, ACTIVE. */
  async function activeServer(): Promise<string> {
    const res = await call('member', 'POST', '/servers', { server: { name: 'racer', imageRef: CIRROS_IMAGE_ID, flavorRef: '1' } }, '2.1');
    expect(res.status).toBe(202);
    const settled = await cluster.settled(res.body.server.id, 20_000);
    expect(settled).toMatchObject({ vm_state: 'active', task_state: null });
    return settled.uuid;
  }

  const burst = (fire: () => Promise<Reply>) => Promise.all(Array.from({ length: N }, fire));

  const statuses = (replies: Reply[]) => {
    const counts: Record<number, number> = {};
    for (const r of replies) counts[r.status] = (counts[r.status] ?? 0) + 1;
    return counts;
  };

  const actionsOf = async (uuid: string): Promise<string[]> =>
    (await cluster.ds.query('SELECT action FROM instance_actions WHERE instance_uuid = $1 ORDER BY id', [uuid])).map((r: { action: string }) => r.action);

  const migrationsOf = async (uuid: string): Promise<{ migration_type: string; status: string }[]> =>
    cluster.ds.query('SELECT migration_type, status FROM migrations WHERE instance_uuid = $1', [uuid]);

  /** One 2xx (the status Nova answers), the rest 409 conflictingRequest, and the server's instance actions: create, then one of `action`. */
  async function expectOneWinner(uuid: string, replies: Reply[], status: number, action: string): Promise<void> {
    expect(statuses(replies)).toEqual({ [status]: 1, 409: N - 1 });
    for (const loser of replies.filter((r) => r.status === 409)) {
      expect(loser.body).toEqual({ conflictingRequest: { code: 409, message: expect.stringContaining(uuid) } });
    }
    expect(await actionsOf(uuid)).toEqual(['create', action]);
  }

  it('resize: one 202, 49 × 409, one resize migration and the claims of one move', async () => {
    const uuid = await activeServer();
    const source = (await cluster.instance(uuid)).host;
    const replies = await burst(() => call('member', 'POST', `/servers/${uuid}/action`, { resize: { flavorRef: '2' } }));
    await expectOneWinner(uuid, replies, 202, 'resize');
    const done = await cluster.settled(uuid, 20_000);
    expect(done).toMatchObject({ vm_state: 'resized', flavor: expect.objectContaining({ flavorid: '2' }) });
    expect(await migrationsOf(uuid)).toEqual([{ migration_type: 'resize', status: 'finished' }]);
    // The new flavor held on the destination, the old one still on the source until confirm or revert.
    const claims = await listAllocations(cluster.ds, { consumer_uuid: uuid });
    expect(claims.map((a) => [a.host === source ? 'source' : a.host === done.host ? 'dest' : a.host, a.memory_mb]).sort())
      .toEqual([['dest', 2048], ['source', 512]]);
  }, 60_000);

  it('migrate: one 202, 49 × 409, one cold migration and the claims of one move', async () => {
    const uuid = await activeServer();
    const replies = await burst(() => call('admin', 'POST', `/servers/${uuid}/action`, { migrate: null }));
    await expectOneWinner(uuid, replies, 202, 'migrate');
    const done = await cluster.settled(uuid, 20_000);
    expect(done).toMatchObject({ vm_state: 'resized' });
    expect(await migrationsOf(uuid)).toEqual([{ migration_type: 'migration', status: 'finished' }]);
    const source = (await cluster.ds.query('SELECT source_compute FROM migrations WHERE instance_uuid = $1', [uuid]))[0].source_compute;
    const claims = await listAllocations(cluster.ds, { consumer_uuid: uuid });
    expect(claims.map((a) => [a.host === source ? 'source' : a.host === done.host ? 'dest' : a.host, a.memory_mb]).sort())
      .toEqual([['dest', 512], ['source', 512]]);
  }, 60_000);

  it('os-migrateLive: one 202, 49 × 409, one live migration and one claim where the server ends', async () => {
    const uuid = await activeServer();
    const source = (await cluster.instance(uuid)).host;
    const replies = await burst(() => call('admin', 'POST', `/servers/${uuid}/action`, { 'os-migrateLive': { host: null, block_migration: 'auto' } }));
    await expectOneWinner(uuid, replies, 202, 'live-migration');
    const done = await cluster.settled(uuid, 30_000);
    expect(done).toMatchObject({ vm_state: 'active' });
    expect(done.host).not.toBe(source);
    expect(await migrationsOf(uuid)).toEqual([{ migration_type: 'live-migration', status: 'completed' }]);
    expect(await listAllocations(cluster.ds, { consumer_uuid: uuid })).toMatchObject([{ host: done.host, memory_mb: 512 }]);
  }, 60_000);

  it('os-stop: one 202, 49 × 409, the server stopped once', async () => {
    const uuid = await activeServer();
    const replies = await burst(() => call('member', 'POST', `/servers/${uuid}/action`, { 'os-stop': null }));
    await expectOneWinner(uuid, replies, 202, 'stop');
    expect(await cluster.waitFor(uuid, (i) => i.vm_state === 'stopped' && i.task_state === null)).toBeTruthy();
    expect(await migrationsOf(uuid)).toEqual([]);
    expect(await listAllocations(cluster.ds, { consumer_uuid: uuid })).toHaveLength(1);
  }, 60_000);

  // One delete wins `deleting`; a repeat while it is in progress is a 409, and one that arrives after the server is
  // gone a 404. The server must end gone, claims and VM included, once every cast has run.
  const deleteBurst = async () => {
    const uuid = await activeServer();
    const host = (await cluster.instance(uuid)).host!;
    const replies = await burst(() => call('member', 'DELETE', `/servers/${uuid}`));
    const terminations = () => cluster.ds.query(
      `SELECT e.result FROM instance_action_events e JOIN instance_actions a ON a.id = e.action_id WHERE a.instance_uuid = $1 AND e.event = $2`,
      [uuid, TERMINATE_EVENT],
    ) as Promise<{ result: string | null }[]>;
    await cluster.waitUntil(async () => (await cluster.ds.query('SELECT 1 FROM instances WHERE uuid = $1 AND deleted_at IS NOT NULL', [uuid])).length === 1);
    await cluster.waitUntil(async () => (await terminations()).every((t) => t.result !== null));
    return { uuid, host, replies, terminations: await terminations() };
  };

  it('DELETE: exactly one 204, every other answer 409 (or 404 once gone), and the server ends deleted with its claims and VM gone', async () => {
    const { uuid, host, replies, terminations } = await deleteBurst();
    const counts = statuses(replies);
    expect(Object.keys(counts).filter((s) => s !== '204' && s !== '409' && s !== '404')).toEqual([]);
    expect(counts[204]).toBe(1);
    expect(terminations.length).toBeGreaterThanOrEqual(1);
    expect(terminations.filter((t) => t.result !== 'Success')).toEqual([]);
    expect(await listAllocations(cluster.ds, { consumer_uuid: uuid })).toEqual([]);
    expect(await cluster.driver(host).listVms()).not.toContainEqual(expect.objectContaining({ uuid }));
  }, 60_000);

  it('DELETE: exactly one of the 50 performs the delete (one delete action, one termination)', async () => {
    const { uuid, terminations } = await deleteBurst();
    expect(await actionsOf(uuid)).toEqual(['create', 'delete']);
    expect(terminations).toEqual([{ result: 'Success' }]);
  }, 60_000);
});
