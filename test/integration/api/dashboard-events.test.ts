// The dashboard's page and event stream on the assembled API: the page is served with a strict content policy; the
// stream needs a one-time ticket that only an admin token gets; one read loop serves every connected browser, pushes
// only what changed, stops when the last browser leaves, drops a browser whose token is revoked, and neither the
// streams nor a client's spare connection hold up the API's shutdown.
import { once } from 'node:events';
import { connect } from 'node:net';
import { recordHeartbeat, upsertComputeNode } from '@ferry/common/db';
import { startAssembledApi, type AssembledApi } from '../../support/assembled-api';
import { eventually } from '../../support/ferry-process';
import { parsePrometheusText } from '../../support/prometheus-text';
import { SseStream } from '../../support/sse';

jest.setTimeout(60_000);

const TICKETS = '/compute/v2.1/os-ferry-dashboard/tickets';
const EVENTS = '/compute/v2.1/os-ferry-dashboard/events';
const INTERVAL_MS = 100;

interface Snapshot {
  hosts: { host: string; state: string; status: string; vcpus: number; vcpus_used: number; memory_mb: number; memory_mb_used: number; local_gb: number; local_gb_used: number; instances: number; busy: number }[];
  migrations: unknown[];
  drains: { id: string; host: string; status: string; total: number; moved: number; done: boolean }[];
}

async function addHost(api: AssembledApi, host: string): Promise<void> {
  await upsertComputeNode(api.db.dataSource, {
    host, hypervisor_hostname: host, hypervisor_type: 'fake', vcpus: 16, memory_mb: 32768, local_gb: 500, cpu_model: 'fake', capabilities: {}, storage_id: host,
  });
  await recordHeartbeat(api.db.dataSource, { host, binary: 'ferry-compute', topic: 'compute', version: '0.1.0' });
}

/** POSTs for a ticket with token; answers the status, the body and the cookie to send back (name=value). */
async function requestTicket(api: AssembledApi, token?: string) {
  const res = await fetch(`${api.url}${TICKETS}`, { method: 'POST', headers: token === undefined ? {} : { 'x-auth-token': token } });
  const setCookie = res.headers.get('set-cookie') ?? '';
  return { status: res.status, body: await res.json(), setCookie, cookie: setCookie.split(';')[0] };
}

async function openEvents(api: AssembledApi, token: string): Promise<SseStream> {
  const { cookie } = await requestTicket(api, token);
  const res = await SseStream.open(`${api.url}${EVENTS}`, { cookie });
  if (!res.stream) throw new Error(`event stream refused: ${res.status} ${res.body}`);
  return res.stream;
}

async function dashboardFigures(api: AssembledApi, token: string): Promise<{ reads: number; clients: number }> {
  const res = await fetch(`${api.url}/metrics`, { headers: { 'x-auth-token': token } });
  const { samples } = parsePrometheusText(await res.text());
  const value = (name: string) => samples.find((s) => s.name === name)?.value ?? NaN;
  return { reads: value('ferry_dashboard_reads_total'), clients: value('ferry_dashboard_clients') };
}

describe('dashboard page and event stream (assembled API)', () => {
  let api: AssembledApi;
  let admin: string;
  let demo: string;

  beforeAll(async () => {
    api = await startAssembledApi({ dashboardIntervalMs: INTERVAL_MS });
    admin = await api.login('admin');
    demo = await api.login('demo');
    await addHost(api, 'dash-1');
  });

  afterAll(async () => {
    await api?.close();
  });

  it('serves the page, its script and stylesheet without a token, under a content policy allowing only its own files', async () => {
    const redirect = await fetch(`${api.url}/dashboard`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('/dashboard/');
    const page = await fetch(`${api.url}/dashboard/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'/);
    const html = await page.text();
    expect(html).toContain('<script src="dashboard.js" defer></script>');
    expect(html).toContain('id="login-form"');
    for (const [file, type] of [['dashboard.js', /javascript/], ['dashboard.css', /^text\/css/]] as const) {
      const res = await fetch(`${api.url}/dashboard/${file}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(type);
    }
    expect((await fetch(`${api.url}/dashboard/../package.json`)).status).toBe(404);
  });

  it('the stream needs a ticket (401), and a ticket needs an admin token (401 without one, 403 for a member)', async () => {
    const none = await SseStream.open(`${api.url}${EVENTS}`);
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body!).unauthorized.message).toMatch(/needs a ticket/);
    const forged = await SseStream.open(`${api.url}${EVENTS}`, { cookie: 'ferry_dashboard_ticket=not-a-ticket' });
    expect(forged.status).toBe(401);

    expect((await requestTicket(api)).status).toBe(401);
    expect((await requestTicket(api, 'gAAAAAnot-a-token')).status).toBe(401);
    const member = await requestTicket(api, demo);
    expect(member.status).toBe(403);
    expect(member.body).toEqual({ forbidden: { code: 403, message: "Policy doesn't allow os_compute_api:os-ferry-dashboard to be performed." } });
    expect(member.setCookie).toBe('');

    const granted = await requestTicket(api, admin);
    expect(granted.status).toBe(201);
    expect(granted.setCookie).toMatch(/^ferry_dashboard_ticket=[A-Za-z0-9_-]{43}; Max-Age=30; Path=\/compute\/v2\.1\/os-ferry-dashboard\/events; HttpOnly; SameSite=Strict$/);
    expect(granted.body).toEqual({ ticket: { events: EVENTS, expires_in: 30 } });
  });

  it('a ticket opens one stream, once', async () => {
    const { cookie } = await requestTicket(api, admin);
    const first = await SseStream.open(`${api.url}${EVENTS}`, { cookie });
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(first.headers.get('set-cookie')).toMatch(/^ferry_dashboard_ticket=; Max-Age=0; Path=\/compute\/v2\.1\/os-ferry-dashboard\/events; HttpOnly; SameSite=Strict$/);
    await first.stream!.close();
    const again = await SseStream.open(`${api.url}${EVENTS}`, { cookie });
    expect(again.status).toBe(401);
  });

  it('pushes a snapshot of hosts, migrations and drains, and a new one only when something changed', async () => {
    const stream = await openEvents(api, admin);
    await stream.waitFor(() => stream.snapshots().length >= 1, 10_000, 'a first snapshot');
    const [first] = stream.snapshots<Snapshot>();
    expect(first.id).toMatch(/^\d+$/);
    expect(first.data).toEqual({ hosts: [expect.objectContaining({ host: 'dash-1' })], migrations: [], drains: expect.any(Array) });
    expect(first.data.hosts[0]).toEqual({
      host: 'dash-1', state: 'up', status: 'enabled', disabled_reason: null, vcpus: 16, vcpus_used: 0, memory_mb: 32768, memory_mb_used: 0,
      local_gb: 500, local_gb_used: 0, instances: 0, busy: 0,
    });

    // Nothing changes for ten intervals: nothing is pushed.
    const before = await dashboardFigures(api, admin);
    await eventually(async () => (await dashboardFigures(api, admin)).reads >= before.reads + 10, 20_000, 50);
    expect(stream.snapshots()).toHaveLength(1);

    // A drain through the API (no scheduler runs here, so it stays running): the next snapshot shows it and the host disabled.
    const drain = await fetch(`${api.url}/compute/v2.1/os-ferry-hosts/dash-1/drain`, {
      method: 'POST', headers: { 'x-auth-token': admin, 'content-type': 'application/json' }, body: JSON.stringify({ concurrency: 1 }),
    });
    expect(drain.status).toBe(202);
    const { drain: { id } } = await drain.json() as { drain: { id: string } };
    await stream.waitFor(() => stream.snapshots<Snapshot>().some((s) => s.data.drains.some((d) => d.id === id)), 10_000, 'the drain');
    const latest = stream.snapshots<Snapshot>().at(-1)!;
    expect(Number(latest.id)).toBeGreaterThan(Number(first.id));
    expect(latest.data.drains[0]).toMatchObject({ id, host: 'dash-1', status: 'running', done: false, total: 0, moved: 0, mode: 'auto', concurrency: 1 });
    expect(latest.data.drains[0]).not.toHaveProperty('servers');
    expect(latest.data.hosts[0]).toMatchObject({ host: 'dash-1', status: 'disabled', disabled_reason: expect.stringMatching(/^ferry drain /) });
    await stream.close();
  });

  it('one read loop serves every browser; it stops when the last one leaves', async () => {
    const streams = await Promise.all([1, 2, 3].map(() => openEvents(api, admin)));
    await Promise.all(streams.map((s) => s.waitFor(() => s.snapshots().length >= 1, 10_000, 'a first snapshot')));
    expect((await dashboardFigures(api, admin)).clients).toBe(3);
    // Every browser sees the same snapshot under the same id: there is one sequence, not one per browser.
    const ids = streams.map((s) => s.snapshots().at(-1)!.id);
    expect(new Set(ids).size).toBe(1);

    const windowStart = await dashboardFigures(api, admin);
    const started = Date.now();
    await eventually(async () => Date.now() - started >= 2000, 5000, 100);
    const windowEnd = await dashboardFigures(api, admin);
    const elapsed = Date.now() - started;
    const reads = windowEnd.reads - windowStart.reads;
    // One loop reads at most once per interval (plus the edges); a loop per browser would read three times as often.
    expect(reads).toBeGreaterThan(0);
    expect(reads).toBeLessThanOrEqual(Math.ceil(elapsed / INTERVAL_MS) + 2);

    await Promise.all(streams.map((s) => s.close()));
    await eventually(async () => (await dashboardFigures(api, admin)).clients === 0, 10_000, 50);
    const idle = await dashboardFigures(api, admin);
    await new Promise((r) => setTimeout(r, 5 * INTERVAL_MS));
    expect((await dashboardFigures(api, admin)).reads).toBe(idle.reads);
  });

  it('ends the stream of a browser whose token is revoked', async () => {
    const token = await api.login('admin');
    const stream = await openEvents(api, token);
    await stream.waitFor(() => stream.snapshots().length >= 1, 10_000, 'a first snapshot');
    const revoke = await fetch(`${api.url}/identity/v3/auth/tokens`, { method: 'DELETE', headers: { 'x-auth-token': admin, 'x-subject-token': token } });
    expect(revoke.status).toBe(204);
    await stream.waitFor(() => stream.isEnded, 10_000, 'the end of the stream');
  });

  it('the API closes at once with streams open, ending them, and with a connection that never sent a request', async () => {
    const own = await startAssembledApi({ dashboardIntervalMs: INTERVAL_MS });
    const streams = await Promise.all([1, 2].map(async () => openEvents(own, await own.login('admin'))));
    await Promise.all(streams.map((s) => s.waitFor(() => s.snapshots().length >= 1, 10_000, 'a first snapshot')));
    // A spare connection, as a browser opens ahead of need: the server's own close would wait for the client to drop it.
    const { port } = new URL(own.url);
    const spare = connect(Number(port), '127.0.0.1');
    await once(spare, 'connect');
    const spareClosed = once(spare, 'close');
    const started = Date.now();
    await own.close();
    expect(Date.now() - started).toBeLessThan(5000);
    await Promise.all(streams.map((s) => s.waitFor(() => s.isEnded, 5000, 'the end of the stream')));
    await spareClosed;
  });
});
