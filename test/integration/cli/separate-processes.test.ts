// One process per service over real RabbitMQ and Postgres: registration, RPC reachability, down detection.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { stripVTControlCharacters } from 'node:util';
import { BUILT_IN_PASSWORDS, CIRROS_IMAGE_ID } from '@ferry/common/db';
import { createTransport, newRequestContext, RpcClient, type Transport } from '@ferry/common/rpc';
import type { ServiceInfoEndpoint } from '@ferry/common/service';
import { deleteRpcTopology } from '../../support/amqp';
import { createTestDatabase } from '../../support/db';
import { fetchToken } from '../../support/tokens';
import { FERRY_MAIN, eventually, runFerry, startFerry, tempStateDir, type FerryProcess } from '../../support/ferry-process';

jest.setTimeout(120_000);

interface StatusRow { binary: string; host: string; state: string }

describe('services in separate processes over RabbitMQ and Postgres', () => {
  const state = tempStateDir();
  const prefix = `test_${randomBytes(4).toString('hex')}_`;
  const transportUrl = process.env.FERRY_TEST_TRANSPORT_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
  let db: { url: string; drop(): Promise<void> };
  let env: NodeJS.ProcessEnv;
  const procs: Record<string, FerryProcess> = {};
  let bus: Transport;

  beforeAll(async () => {
    db = await createTestDatabase();
    env = {
      FERRY_DATABASE_URL: db.url, FERRY_TRANSPORT_URL: transportUrl, FERRY_BUS_PREFIX: prefix,
      FERRY_STATE_DIR: state.dir, FERRY_API_PORT: '0', FERRY_HEARTBEAT_INTERVAL: '1', FERRY_SERVICE_DOWN_TIME: '3',
      FERRY_LOG_LEVEL: 'debug',
    };
    bus = await createTransport({ url: transportUrl, prefix });
  });

  afterAll(async () => {
    await Promise.all(Object.values(procs).map((p) => p.stop('SIGKILL')));
    await bus?.close();
    await deleteRpcTopology(transportUrl, { prefix, topics: ['compute', 'scheduler'], servers: ['cmp-a', 'cmp-b', 'sched-1'] });
    await db?.drop();
    state.remove();
  });

  const status = async (): Promise<StatusRow[]> => {
    const res = await runFerry(['status', '--json'], env);
    if (res.code !== 0) throw new Error(`ferry status exited ${res.code}: ${res.stderr}`);
    return JSON.parse(res.stdout) as StatusRow[];
  };

  it('migrates the schema, then reports it up to date', async () => {
    const first = await runFerry(['db', 'migrate'], env);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/applied \d+ migration/);
    const second = await runFerry(['db', 'migrate'], env);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/up to date/);
  });

  it('starts each service in its own process and sees them all up', async () => {
    procs.scheduler = startFerry(['scheduler', '--host', 'sched-1'], env);
    procs.a = startFerry(['compute', '--host', 'cmp-a'], env);
    procs.b = startFerry(['compute', '--host', 'cmp-b'], env);
    procs.api = startFerry(['api', '--host', 'api-1'], env);
    await Promise.all(Object.values(procs).map((p) => p.waitFor(/service started|API listening/, 60_000)));
    const rows = await eventually(async () => {
      const r = await status();
      return r.length === 4 && r.every((s) => s.state === 'up') ? r : undefined;
    });
    expect(rows.map((r) => `${r.binary}@${r.host}`).sort()).toEqual([
      'ferry-api@api-1', 'ferry-compute@cmp-a', 'ferry-compute@cmp-b', 'ferry-scheduler@sched-1',
    ]);
  });

  it('answers calls over the bus from the process that serves the host', async () => {
    const ctx = newRequestContext();
    const compute = new RpcClient<ServiceInfoEndpoint>(bus, { topic: 'compute', version: '1.0' }, { timeoutMs: 10_000 });
    const a = await compute.prepare({ server: 'cmp-a' }).call(ctx, 'ping', {});
    const b = await compute.prepare({ server: 'cmp-b' }).call(ctx, 'ping', {});
    expect(a).toMatchObject({ binary: 'ferry-compute', host: 'cmp-a', pid: procs.a!.child.pid });
    expect(b).toMatchObject({ host: 'cmp-b', pid: procs.b!.child.pid });
    const scheduler = new RpcClient<ServiceInfoEndpoint>(bus, { topic: 'scheduler', version: '1.0' }, { timeoutMs: 10_000 });
    expect(await scheduler.call(ctx, 'ping', {})).toMatchObject({ binary: 'ferry-scheduler', host: 'sched-1' });
    // The request id travelled with the call into the handler's log lines.
    await procs.a!.waitFor(new RegExp(ctx.request_id), 5_000);
  });

  it('puts the request id on every line any service logs about the work a request caused', async () => {
    const api = `http://${(await procs.api!.waitFor(/"url":"http:\/\/([^"]+)"/))[1]}`;
    const token = await fetchToken(api, 'admin', BUILT_IN_PASSWORDS.admin!);
    /** The id of every request this test made (its polls included): each line must name one of them. */
    const made = new Set<string>();
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${api}${path}`, {
        method, headers: { 'x-auth-token': token, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      const text = await res.text();
      made.add(res.headers.get('x-openstack-request-id')!);
      return { requestId: res.headers.get('x-openstack-request-id')!, body: text === '' ? undefined : JSON.parse(text) as unknown };
    };
    const serverStatus = async (id: string) => ((await call('GET', `/compute/v2.1/servers/${id}`)).body as { server: { status: string } }).server.status;
    const marks = Object.fromEntries(Object.entries(procs).map(([name, p]) => [name, p.output().length]));
    const created = await call('POST', '/compute/v2.1/servers', { server: { name: 'traced', flavorRef: '1', imageRef: CIRROS_IMAGE_ID } });
    const id = (created.body as { server: { id: string } }).server.id;
    await eventually(async () => ((await serverStatus(id)) === 'ACTIVE' ? true : undefined), 30_000);
    const migrate = await call('POST', `/compute/v2.1/servers/${id}/action`, { migrate: null });
    await eventually(async () => ((await serverStatus(id)) === 'VERIFY_RESIZE' ? true : undefined), 30_000);
    const confirm = await call('POST', `/compute/v2.1/servers/${id}/action`, { confirmResize: null });
    await eventually(async () => ((await serverStatus(id)) === 'ACTIVE' ? true : undefined), 30_000);
    const ids = [created.requestId, migrate.requestId, confirm.requestId];
    expect(new Set(ids).size).toBe(3);
    await new Promise((r) => setTimeout(r, 1_000));
    const about: Record<string, Record<string, unknown>[]> = {};
    for (const [name, p] of Object.entries(procs)) {
      about[name] = p.output().slice(marks[name]).split('\n').filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((line) => JSON.stringify(line).includes(id));
    }
    // Every service took part (the compute that built it and the one it moved to), and each said so with the request's id.
    expect(Object.entries(about).filter(([, lines]) => lines.length > 0).map(([name]) => name).sort()).toEqual(['a', 'api', 'b', 'scheduler']);
    const untraced = Object.entries(about).flatMap(([name, lines]) => lines.filter((l) => !made.has(l.request_id as string)).map((l) => ({ service: name, ...l })));
    expect(untraced).toEqual([]);
    // The create, the move and the confirm each reached the scheduler or a compute under their own id.
    const behindTheApi = [...about.scheduler!, ...about.a!, ...about.b!];
    for (const requestId of ids) expect(behindTheApi.some((l) => l.request_id === requestId)).toBe(true);
  });

  it('logs human-readable lines on a terminal, each request still tagged with its id', async () => {
    // `script` gives the service a pseudo-terminal for stdout, as an operator's shell would.
    const command = [process.execPath, FERRY_MAIN, 'api', '--host', 'api-tty'].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, ...env, FERRY_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    try {
      const plain = () => stripVTControlCharacters(out);
      const url = (await eventually(async () => plain().match(/API listening[\s\S]*?url: "(http:[^"]+)"/) ?? undefined, 30_000).catch((e: Error) => { throw new Error(`${e.message}; output:\n${out}`); }))[1]!;
      const res = await fetch(`${url}/compute/v2.1/servers`);
      expect(res.status).toBe(401);
      const requestId = res.headers.get('x-openstack-request-id')!;
      await eventually(async () => plain().includes(`request_id: "${requestId}"`), 10_000);
      // Levels in colour (an ANSI SGR sequence right before the level's name).
      expect(out).toMatch(new RegExp(`${String.fromCharCode(27)}\\[3\\dm(INFO|WARN)`));
      expect(plain().split(/\r?\n/).filter((l) => l.trimStart().startsWith('{"level"'))).toEqual([]);
      expect(plain()).toMatch(/\[\d\d:\d\d:\d\d\.\d{3}\] INFO: API listening/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('reports a killed compute down once its heartbeat is stale, the others still up', async () => {
    expect(await procs.b!.stop('SIGKILL')).toBe(137);
    const rows = await eventually(async () => {
      const r = await status();
      return r.find((s) => s.host === 'cmp-b')?.state === 'down' ? r : undefined;
    }, 15_000);
    expect(rows.find((s) => s.host === 'cmp-a')?.state).toBe('up');
    expect(rows.find((s) => s.host === 'api-1')?.state).toBe('up');
  });

  it('stops a service cleanly on SIGTERM', async () => {
    expect(await procs.a!.stop('SIGTERM')).toBe(0);
    expect(procs.a!.output()).toMatch(/stopped/);
  });
});
