import { MessagingTimeout } from '../rpc/errors';
import { failureType } from '../rpc/envelope';
import { silentLogger } from '../log';
import { startMetricsListener } from './listener';
import { processMetrics } from './registry';
import { timeRpc } from './rpc-metrics';

/** The value of one sample of the process registry (e.g. a histogram's _count), or undefined. */
async function sampleValue(name: string, labels: Record<string, string>): Promise<number | undefined> {
  for (const family of await processMetrics.getMetricsAsJSON()) {
    for (const v of family.values as { value: number; labels: Record<string, unknown>; metricName?: string }[]) {
      if ((v.metricName ?? family.name) === name && Object.entries(labels).every(([k, want]) => v.labels[k] === want)) return v.value;
    }
  }
  return undefined;
}

describe('timeRpc', () => {
  const labels = { topic: 'compute', method: 'unit_probe', kind: 'call' as const };

  it('times a call that succeeds, counting no failure', async () => {
    await expect(timeRpc('client', labels, Promise.resolve(42), failureType)).resolves.toBe(42);
    expect(await sampleValue('ferry_rpc_client_duration_seconds_count', labels)).toBe(1);
    expect(await sampleValue('ferry_rpc_client_failures_total', labels)).toBeUndefined();
  });

  it('counts a failure by its type and hands the error on unchanged', async () => {
    const err = new MessagingTimeout('no reply');
    await expect(timeRpc('server', labels, Promise.reject(err), failureType)).rejects.toBe(err);
    expect(await sampleValue('ferry_rpc_server_failures_total', { ...labels, error: 'MessagingTimeout' })).toBe(1);
    expect(await sampleValue('ferry_rpc_server_duration_seconds_count', labels)).toBe(1);
  });
});

describe('metrics listener', () => {
  it('answers GET /metrics with the scrape, 404 elsewhere, 405 to other methods', async () => {
    const listener = await startMetricsListener({ listen: '127.0.0.1', port: 0, scrape: async () => 'up 1\n', log: silentLogger() });
    try {
      const res = await fetch(listener.url);
      expect([res.status, res.headers.get('content-type'), await res.text()]).toEqual([200, processMetrics.contentType, 'up 1\n']);
      expect((await fetch(listener.url.replace(/metrics$/, 'other'))).status).toBe(404);
      expect((await fetch(listener.url, { method: 'DELETE' })).status).toBe(405);
    } finally {
      await listener.stop();
    }
  });

  it('answers 503 when the scrape fails, without the failure text (it may name the database)', async () => {
    const listener = await startMetricsListener({
      listen: '127.0.0.1', port: 0, scrape: async () => { throw new Error('connect ECONNREFUSED db.internal:5432'); }, log: silentLogger(),
    });
    try {
      const res = await fetch(listener.url);
      expect(res.status).toBe(503);
      expect(await res.text()).not.toMatch(/db\.internal/);
    } finally {
      await listener.stop();
    }
  });

  it('fails to start on an address it cannot bind', async () => {
    await expect(startMetricsListener({ listen: '192.0.2.1', port: 0, scrape: async () => '', log: silentLogger() })).rejects.toThrow(/EADDRNOTAVAIL/);
  });
});
