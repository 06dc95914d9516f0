// `ferry up` with FERRY_METRICS_PORT: one listener for the whole process, without a token, serving every service's
// figures and the database's; the API's own /metrics still wants an admin token.
import { startFerry, tempStateDir, eventually, type FerryProcess } from '../../support/ferry-process';
import { parsePrometheusText, samplesOf } from '../../support/prometheus-text';

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
