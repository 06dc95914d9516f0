// One process per service over real RabbitMQ and Postgres: registration, RPC reachability, down detection.
import { randomBytes } from 'node:crypto';
import { createTransport, newRequestContext, RpcClient, type Transport } from '@ferry/common/rpc';
import type { ServiceInfoEndpoint } from '@ferry/common/service';
import { deleteRpcTopology } from '../../support/amqp';
import { createTestDatabase } from '../../support/db';
import { eventually, runFerry, startFerry, tempStateDir, type FerryProcess } from '../../support/ferry-process';

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
