// FERRY_METRICS_PORT: under `ferry up` one listener for the whole process, without a token, serving every service's
// figures and the database's (the API's own /metrics still wants an admin token); run separately, each service's own.
import { randomBytes } from 'node:crypto';
import { createTransport, newRequestContext, RpcClient, type Transport } from '@ferry/common/rpc';
import type { ServiceInfoEndpoint } from '@ferry/common/service';
import { deleteRpcTopology } from '../../support/amqp';
import { createTestDatabase, type TestDatabase } from '../../support/db';
import { runFerry, startFerry, tempStateDir, eventually, type FerryProcess } from '../../support/ferry-process';
import { parsePrometheusText, samplesOf, valueOf, type Exposition } from '../../support/prometheus-text';

jest.setTimeout(120_000);

describe('ferry up with a metrics listener', () => {
  const state = tempStateDir();
  const env = {
    FERRY_STATE_DIR: state.dir, FERRY_API_PORT: '0', FERRY_METRICS_PORT: '0', FERRY_HEARTBEAT_INTERVAL: '1', FERRY_RECONCILE_INTERVAL: '1',
    FERRY_DATABASE_URL: '', FERRY_TRANSPORT_URL: '',
  };
  let up: FerryProcess | undefined;
  let apiUrl: string;
  let metricsUrl: string;

  beforeAll(async () => {
    up = startFerry(['up'], env);
    [, apiUrl] = await up.waitFor(/API\s+(http:\/\/\S+)/, 60_000) as [string, string];
    [, metricsUrl] = await up.waitFor(/metrics\s+(http:\/\/\S+\/metrics)$/m) as [string, string];
    await up.waitFor(/Ctrl-C/);
  });
  afterAll(async () => {
    await up?.stop('SIGKILL');
    state.remove();
  });

  it('listens on loopback and answers without a token: every service of the process, and the database', async () => {
    expect(new URL(metricsUrl).hostname).toBe('127.0.0.1');
    const m = await eventually(async () => {
      const res = await fetch(metricsUrl);
      expect(res.status).toBe(200);
      const parsed = parsePrometheusText(await res.text());
      // Each compute runs a reconciler pass at start; the scheduler's waits for a compute to be up.
      return samplesOf(parsed, 'ferry_reconciler_passes_total', { reconciler: 'scheduler' }).length > 0 ? parsed : undefined;
    });
    expect(samplesOf(m, 'ferry_service_heartbeat_age_seconds').map((s) => s.labels.binary).sort())
      .toEqual(['ferry-api', 'ferry-compute', 'ferry-compute', 'ferry-compute', 'ferry-scheduler']);
    expect(samplesOf(m, 'ferry_reconciler_passes_total', { reconciler: 'compute' })[0]!.value).toBeGreaterThanOrEqual(3);
    expect(samplesOf(m, 'process_resident_memory_bytes')).toHaveLength(1);
  });

  it("leaves the API's /metrics behind a token", async () => {
    expect((await fetch(`${apiUrl}/metrics`)).status).toBe(401);
  });
});

describe('services run separately, each with its own metrics listener (RabbitMQ, Postgres)', () => {
  const state = tempStateDir();
  const prefix = `test_${randomBytes(4).toString('hex')}_`;
  const transportUrl = process.env.FERRY_TEST_TRANSPORT_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
  let db: TestDatabase;
  let bus: Transport;
  let env: NodeJS.ProcessEnv;
  const procs: Record<'scheduler' | 'compute', FerryProcess | undefined> = { scheduler: undefined, compute: undefined };
  const urls: Record<'scheduler' | 'compute', string> = { scheduler: '', compute: '' };

  beforeAll(async () => {
    db = await createTestDatabase();
    env = {
      FERRY_DATABASE_URL: db.url, FERRY_TRANSPORT_URL: transportUrl, FERRY_BUS_PREFIX: prefix, FERRY_STATE_DIR: state.dir,
      FERRY_METRICS_PORT: '0', FERRY_HEARTBEAT_INTERVAL: '1', FERRY_RECONCILE_INTERVAL: '1', FERRY_LOG_LEVEL: 'info',
    };
    expect((await runFerry(['db', 'migrate'], env)).code).toBe(0);
    bus = await createTransport({ url: transportUrl, prefix });
    procs.scheduler = startFerry(['scheduler', '--host', 'sched-m'], env);
    procs.compute = startFerry(['compute', '--host', 'cmp-m'], env);
    for (const name of ['scheduler', 'compute'] as const) {
      [, urls[name]] = await procs[name]!.waitFor(/"url":"(http:\/\/[^"]+\/metrics)"/, 60_000) as [string, string];
    }
  });
  afterAll(async () => {
    await Promise.all(Object.values(procs).map((p) => p?.stop('SIGKILL')));
    await bus?.close();
    await deleteRpcTopology(transportUrl, { prefix, topics: ['compute', 'scheduler'], servers: ['cmp-m', 'sched-m'] });
    await db?.drop();
    state.remove();
  });

  const scrape = async (url: string): Promise<Exposition> => {
    const res = await fetch(url);
    expect(res.status).toBe(200);
    return parsePrometheusText(await res.text());
  };

  it("counts in the compute's process the calls it served, and leaves the database's figures to the API", async () => {
    const compute = new RpcClient<ServiceInfoEndpoint>(bus, { topic: 'compute', version: '1.0' }, { timeoutMs: 10_000 });
    await compute.prepare({ server: 'cmp-m' }).call(newRequestContext(), 'ping', {});
    // The compute's first reconciler pass runs in the background once its start-up recovery is done: wait for it.
    const m = await eventually(async () => {
      const now = await scrape(urls.compute);
      return (valueOf(now, 'ferry_reconciler_passes_total', { reconciler: 'compute' }) ?? 0) >= 1 && now;
    });
    expect(valueOf(m, 'ferry_rpc_server_duration_seconds_count', { topic: 'compute', method: 'ping', kind: 'call' })).toBe(1);
    expect(valueOf(m, 'ferry_reconciler_passes_total', { reconciler: 'compute' })).toBeGreaterThanOrEqual(1);
    expect(samplesOf(m, 'ferry_migrations_started_total')).toEqual([]);
    expect(m.types.has('ferry_service_heartbeat_age_seconds')).toBe(false);
  });

  it("counts the scheduler's reconciler passes in its own process, not the compute's", async () => {
    const m = await eventually(async () => {
      const parsed = await scrape(urls.scheduler);
      return valueOf(parsed, 'ferry_reconciler_passes_total', { reconciler: 'scheduler' }) ? parsed : undefined;
    });
    expect(valueOf(m, 'ferry_reconciler_passes_total', { reconciler: 'compute' })).toBeUndefined();
    expect(valueOf(await scrape(urls.compute), 'ferry_reconciler_passes_total', { reconciler: 'scheduler' })).toBeUndefined();
  });
});
