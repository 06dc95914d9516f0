// /metrics after a real build and cold migration on fake hosts (Postgres, RabbitMQ): the API's route behind an admin
// token, the metrics listener without one, and the figures each move, RPC and reconciler pass leaves in them.
import { open } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { buildApp, scrapeApiMetrics } from '@ferry/api';
import { SETTINGS } from '@ferry/common/config';
import { CIRROS_IMAGE_ID, type Instance } from '@ferry/common/db';
import { silentLogger } from '@ferry/common/log';
import { startMetricsListener, type MetricsListener } from '@ferry/common/metrics';
import { newRequestContext, RpcClient } from '@ferry/common/rpc';
import { Cluster, HOSTS, SCHEDULER_HOST } from '../compute/cluster';
import { insertBuildingInstance, instanceFlavor, requestSpecFor } from '../scheduler/fixtures';
import { parsePrometheusText, samplesOf, valueOf, type Exposition } from '../../support/prometheus-text';
import { injectToken } from '../../support/tokens';

const MIB = 1024 * 1024;

describe('metrics after a build and a cold migration (amqp bus, postgres)', () => {
  let cluster: Cluster;
  let app: FastifyInstance;
  let listener: MetricsListener;
  const tokens: Record<'admin' | 'demo', string> = { admin: '', demo: '' };

  beforeAll(async () => {
    // A move_prep whose migrate_server was lost is re-driven by the elected scheduler after 1 s; a fake live migration
    // runs 100× faster than its simulated clock.
    cluster = await Cluster.start('amqp', 'postgres', {
      reconcileIntervalSeconds: 1, reconcileMovePrepSeconds: 1, fakeLiveTimeScale: 0.01, liveMigrationMonitorMs: 20, liveMigrationCompletionTimeout: 0,
    });
    app = buildApp({ config: cluster.config, db: cluster.db, transport: cluster.transport, log: silentLogger(), publicUrl: () => 'http://ferry.test' });
    tokens.admin = await injectToken(app, 'admin', SETTINGS.adminPassword.default);
    tokens.demo = await injectToken(app, 'demo', SETTINGS.demoPassword.default);
    listener = await startMetricsListener({ listen: '127.0.0.1', port: 0, scrape: () => scrapeApiMetrics(cluster.ds), log: silentLogger() });

    // Built and migrated through the API: the migrate_server cast leaves from the API's RPC client.
    const created = await api('demo', 'POST', '/servers', { server: { name: 'metrics-1', imageRef: CIRROS_IMAGE_ID, flavorRef: '1' } });
    expect(created.statusCode).toBe(202);
    const uuid = created.json().server.id as string;
    const built = await cluster.waitFor(uuid, (i) => i.vm_state === 'active' && i.task_state === null, 20_000);
    // The guest wrote 1 MiB: what the move copies (a sparse disk's holes are not moved).
    const disk = await open(cluster.driver(built.host!).diskPath(uuid), 'r+');
    await disk.write(Buffer.alloc(MIB, 0x5a), 0, MIB, 0);
    await disk.close();
    expect((await api('admin', 'POST', `/servers/${uuid}/action`, { migrate: null })).statusCode).toBe(202);
    await cluster.waitFor(uuid, (i) => i.vm_state === 'resized', 20_000);
    expect((await api('demo', 'POST', `/servers/${uuid}/action`, { confirmResize: null })).statusCode).toBe(204);
    await cluster.waitFor(uuid, (i) => i.vm_state === 'active' && i.task_state === null, 20_000);

    // Accepted, its cast lost: only the reconciler moves it on.
    const lost = await buildServer();
    await cluster.acceptMove(lost.uuid);
    await cluster.waitFor(lost.uuid, (i) => i.vm_state === 'resized', 20_000);

    const live = await buildServer();
    const m = await cluster.requestLiveMigration(live.uuid);
    await cluster.waitUntil(async () => (await cluster.ds.query('SELECT status FROM migrations WHERE id = $1', [m.id]))[0].status === 'completed', 20_000);
  }, 120_000);
  afterAll(async () => {
    await listener?.stop();
    await app?.close();
    await cluster?.close();
  });

  async function buildServer(): Promise<Instance> {
    const tiny = await instanceFlavor(cluster.ds, 'm1.tiny');
    const row = await insertBuildingInstance(cluster.ds, tiny);
    await cluster.requestBuild([row], requestSpecFor(tiny));
    return cluster.settled(row.uuid);
  }

  function api(who: 'admin' | 'demo', method: 'GET' | 'POST', path: string, payload?: unknown) {
    return app.inject({ method, url: `/compute/v2.1${path}`, headers: { 'x-auth-token': tokens[who] }, ...(payload ? { payload: payload as object } : {}) });
  }

  async function scrapeApi(): Promise<Exposition> {
    const res = await app.inject({ method: 'GET', url: '/metrics', headers: { 'x-auth-token': tokens.admin } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return parsePrometheusText(res.body);
  }

  it('needs an admin token on the API: 401 without one, 403 for a member', async () => {
    const anonymous = await app.inject({ method: 'GET', url: '/metrics' });
    expect(anonymous.statusCode).toBe(401);
    const member = await app.inject({ method: 'GET', url: '/metrics', headers: { 'x-auth-token': tokens.demo } });
    expect(member.statusCode).toBe(403);
    expect(member.json()).toEqual({ forbidden: { code: 403, message: "Policy doesn't allow ferry:metrics to be performed." } });
  });

  it('counts the moves started and finished, by type and final status, and the one in flight', async () => {
    const m = await scrapeApi();
    expect(m.types.get('ferry_migrations_started_total')).toBe('counter');
    expect(valueOf(m, 'ferry_migrations_started_total', { migration_type: 'migration' })).toBe(2);
    expect(valueOf(m, 'ferry_migrations_finished_total', { migration_type: 'migration', status: 'confirmed' })).toBe(1);
    // The re-driven one waits in VERIFY_RESIZE: its record is `finished`, which is not final (confirm or revert follows).
    expect(valueOf(m, 'ferry_migrations_in_progress', { migration_type: 'migration', status: 'finished' })).toBe(1);
  });

  it('has the duration histograms with every bucket, and the disk bytes the moves copied', async () => {
    const m = await scrapeApi();
    expect(m.types.get('ferry_migration_duration_seconds')).toBe('histogram');
    const buckets = samplesOf(m, 'ferry_migration_duration_seconds_bucket', { migration_type: 'migration', status: 'confirmed' });
    expect(buckets.map((b) => b.labels.le)).toEqual([...['0.1', '0.5', '1', '2.5', '5', '10', '30', '60', '120', '300', '600', '1800', '3600', '7200'], '+Inf']);
    expect(buckets.at(-1)!.value).toBe(1);
    expect(valueOf(m, 'ferry_migration_duration_seconds_count', { migration_type: 'migration', status: 'confirmed' })).toBe(1);
    expect(valueOf(m, 'ferry_migration_duration_seconds_sum', { migration_type: 'migration', status: 'confirmed' })).toBeGreaterThan(0);
    // Cumulative: never decreasing towards +Inf.
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
    const phases = samplesOf(m, 'ferry_migration_phase_duration_seconds_count', { migration_type: 'migration' });
    expect(phases.length).toBeGreaterThan(0);
    expect(valueOf(m, 'ferry_migration_disk_bytes_total', { migration_type: 'migration' })).toBeGreaterThanOrEqual(MIB);
    expect(valueOf(m, 'ferry_migration_memory_bytes_total', { migration_type: 'live-migration' })).toBeGreaterThanOrEqual(512 * 1024 * 1024);
  });

  it('has the downtime of the completed live migration', async () => {
    const m = await scrapeApi();
    expect(m.types.get('ferry_live_migration_downtime_seconds')).toBe('histogram');
    expect(valueOf(m, 'ferry_live_migration_downtime_seconds_count')).toBe(1);
    expect(valueOf(m, 'ferry_live_migration_downtime_seconds_bucket', { le: '+Inf' })).toBe(1);
    expect(valueOf(m, 'ferry_migrations_finished_total', { migration_type: 'live-migration', status: 'completed' })).toBe(1);
    // The five phases' calls, timed where the source makes them.
    for (const method of ['check_can_live_migrate_source', 'pre_live_migration', 'post_live_migration_at_destination']) {
      expect(valueOf(m, 'ferry_rpc_client_duration_seconds_count', { topic: 'compute', method, kind: 'call' })).toBe(1);
    }
  });

  it('times the RPCs of the flow on both sides, by method', async () => {
    const m = await scrapeApi();
    expect(m.types.get('ferry_rpc_client_duration_seconds')).toBe('histogram');
    for (const [topic, method] of [['scheduler', 'migrate_server'], ['compute', 'prep_resize'], ['compute', 'resize_instance'], ['compute', 'finish_resize'], ['compute', 'confirm_resize']]) {
      const labels = { topic: topic!, method: method!, kind: 'cast' };
      expect([method, valueOf(m, 'ferry_rpc_client_duration_seconds_count', labels)]).toEqual([method, expect.any(Number)]);
      expect(valueOf(m, 'ferry_rpc_client_duration_seconds_count', labels)).toBeGreaterThanOrEqual(1);
      expect(valueOf(m, 'ferry_rpc_server_duration_seconds_count', labels)).toBeGreaterThanOrEqual(1);
      expect(valueOf(m, 'ferry_rpc_server_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBeGreaterThanOrEqual(1);
    }
  });

  it('counts a call and its failure by method', async () => {
    const ctx = newRequestContext({ user_id: 'admin', project_id: 'admin', roles: ['admin'] });
    await cluster.compute.getHostUptime(ctx, 'compute-1');
    await expect(cluster.compute.getHostUptime(ctx, 'no-such-host', 300)).rejects.toMatchObject({ code: expect.stringMatching(/^Message(Undeliverable|Timeout)$/) });
    const m = await scrapeApi();
    expect(valueOf(m, 'ferry_rpc_client_duration_seconds_count', { topic: 'compute', method: 'get_host_uptime', kind: 'call' })).toBe(2);
    expect(valueOf(m, 'ferry_rpc_server_duration_seconds_count', { topic: 'compute', method: 'get_host_uptime', kind: 'call' })).toBe(1);
    const failures = samplesOf(m, 'ferry_rpc_client_failures_total', { topic: 'compute', method: 'get_host_uptime', kind: 'call' });
    expect(failures).toEqual([expect.objectContaining({ labels: expect.objectContaining({ error: expect.stringMatching(/^Message(Undeliverable|Timeout)$/) }), value: 1 })]);
  });

  it('counts a message for a method no endpoint has under one label, whatever its name', async () => {
    const compute = new RpcClient(cluster.transport, { topic: 'compute', server: 'compute-1', version: '1.0' }, { timeoutMs: 10_000 });
    const ctx = newRequestContext();
    for (const name of ['no_such_method_1', 'no_such_method_2']) await expect(compute.call(ctx, name, {})).rejects.toMatchObject({ code: 'NoSuchMethod' });
    const m = await scrapeApi();
    expect(valueOf(m, 'ferry_rpc_server_failures_total', { topic: 'compute', method: '(unknown)', kind: 'call', error: 'NoSuchMethod' })).toBe(2);
    expect(samplesOf(m, 'ferry_rpc_server_failures_total').filter((s) => s.labels.method!.startsWith('no_such_method'))).toEqual([]);
    // The sender still counts its own calls by the name it used.
    expect(valueOf(m, 'ferry_rpc_client_failures_total', { method: 'no_such_method_1', error: 'NoSuchMethod' })).toBe(1);
  });

  it("counts the reconcilers' passes and the move it re-drove", async () => {
    const m = await scrapeApi();
    expect(valueOf(m, 'ferry_reconciler_passes_total', { reconciler: 'compute' })).toBeGreaterThanOrEqual(HOSTS.length);
    expect(valueOf(m, 'ferry_reconciler_passes_total', { reconciler: 'scheduler' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(m, 'ferry_reconciler_actions_total', { reconciler: 'scheduler', kind: 'move_prep', outcome: 'redriven' })).toBeGreaterThanOrEqual(1);
  });

  it('gives every service its heartbeat age', async () => {
    const m = await scrapeApi();
    const ages = samplesOf(m, 'ferry_service_heartbeat_age_seconds');
    expect(ages.map((s) => `${s.labels.binary}@${s.labels.host}`).sort()).toEqual(
      [...HOSTS.map((h) => `ferry-compute@${h}`), `ferry-scheduler@${SCHEDULER_HOST}`].sort(),
    );
    // Heartbeats every second in this cluster.
    for (const age of ages) expect(age.value).toBeLessThan(5);
  });

  it('serves the same figures on the metrics listener without a token, and nothing else there', async () => {
    const res = await fetch(listener.url);
    expect(res.status).toBe(200);
    const m = parsePrometheusText(await res.text());
    expect(valueOf(m, 'ferry_migrations_started_total', { migration_type: 'migration' })).toBe(2);
    expect(samplesOf(m, 'process_cpu_user_seconds_total')).toHaveLength(1);
    const other = await fetch(listener.url.replace('/metrics', '/compute/v2.1/servers'));
    expect(other.status).toBe(404);
    const post = await fetch(listener.url, { method: 'POST' });
    expect(post.status).toBe(405);
  });
});
