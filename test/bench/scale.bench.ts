// Scale simulation: 1,000 fake hosts served by this one process and 20,000 instances, then a drain of 10 hosts at once.
/*
 * Method. One BenchCluster (fresh Postgres database, RabbitMQ with its own prefix: one queue per host plus the shared
 * and fanout ones): the scheduler and HOSTS fake-driver computes in this process on one bus connection and one pool,
 * at the default heartbeat (FERRY_HEARTBEAT_INTERVAL 5 s) and resource-report (FERRY_POWER_SYNC_INTERVAL 10 s)
 * settings; the API (buildApp) on its own bus connection.
 * - RSS per host: the process's RSS after every host started, less the RSS before the cluster started, over HOSTS.
 * - Boot: INSTANCES rows written as the API writes them and handed to schedule_and_build_instances in batches of 100
 *   (the scheduler's build path); time until every one is ACTIVE.
 * - Liveness writes: ferry_liveness_writes_total (heartbeat statements, one per batch; resource-report statements that
 *   changed a compute_nodes row) over a quiet WINDOW seconds after the boot, per second per 100 hosts.
 * - Placement: SAMPLES select_destinations calls for one new consumer each, one at a time, with every instance placed;
 *   the allocations they claim are removed after.
 * - Drain: POST /os-ferry-hosts/{host}/drain for 10 hosts at once; time until every drain reads done.
 * - Postgres: rows of each table and the database's size at the end.
 * Run: npm run bench:scale (FERRY_BENCH_SCALE_HOSTS, FERRY_BENCH_SCALE_INSTANCES, FERRY_BENCH_SCALE_WINDOW override).
 */
import { randomUUID } from 'node:crypto';
import { buildApp } from '@ferry/api';
import { createTransport, newRequestContext } from '@ferry/common/rpc';
import { silentLogger } from '@ferry/common/log';
import { BenchCluster } from './support/bench-cluster';
import { hostsUpAndReporting, livenessWriteRate, waitForActive, waitForReports } from './support/scale-probe';
import { percentile, sleep } from './support/stats';
import { injectToken } from '../support/tokens';

const HOSTS = Number(process.env.FERRY_BENCH_SCALE_HOSTS ?? 1000);
const INSTANCES = Number(process.env.FERRY_BENCH_SCALE_INSTANCES ?? 20_000);
const WINDOW_S = Number(process.env.FERRY_BENCH_SCALE_WINDOW ?? 60);
const SAMPLES = 200;
const DRAINED = 10;
const GIB = 1024 * 1024 * 1024;
const host = (i: number) => `sim-${String(i + 1).padStart(4, '0')}`;
const out = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const hosts = Array.from({ length: HOSTS }, (_, i) => host(i));
  out(`Scale simulation: ${HOSTS} fake hosts in one process, ${INSTANCES} instances, a drain of ${DRAINED} hosts at once (RabbitMQ, Postgres).`);
  const rssBefore = process.memoryUsage().rss;
  const startedAt = Date.now();
  const cluster = await BenchCluster.start({
    bus: 'amqp', database: 'postgres', hosts, poolSize: 20,
    driver: { vcpus: 64, memoryMb: 128 * 1024, diskGb: 2000, liveMigrationBandwidth: GIB, liveMigrationTimeScale: 1 },
    config: {
      drainParallelPerHost: 5, drainParallelPerCluster: 50, hostLinkBandwidth: 3_125_000_000, drainIntervalMs: 200,
      maxConcurrentLiveMigrations: 5, liveMigrationMonitorMs: 50, fakeMigrationBandwidth: GIB,
    },
  });
  const startSeconds = (Date.now() - startedAt) / 1000;
  const rssHosts = process.memoryUsage().rss;
  const transport = await createTransport({ url: cluster.transportUrl, prefix: cluster.prefix });
  const app = buildApp({ config: cluster.config, db: cluster.db, transport, log: silentLogger(), publicUrl: () => 'http://localhost' });
  try {
    await app.ready();
    out(`hosts started in ${startSeconds.toFixed(1)} s; RSS ${mib(rssBefore)} → ${mib(rssHosts)} MiB: ${((rssHosts - rssBefore) / HOSTS / 1024).toFixed(0)} KiB per host`);

    const flavor = await cluster.createFlavor({ name: 'scale.tiny', vcpus: 1, memory_mb: 64, root_gb: 0 });
    const bootStart = Date.now();
    await cluster.requestBuilds(flavor, INSTANCES, 100);
    await waitForActive(cluster.ds, INSTANCES, 1800);
    const bootSeconds = (Date.now() - bootStart) / 1000;
    out(`boot of ${INSTANCES} instances: ${bootSeconds.toFixed(1)} s (${(INSTANCES / bootSeconds).toFixed(0)}/s); RSS ${mib(process.memoryUsage().rss)} MiB`);

    // Quiet window: what keeping the hosts visible costs once they settled (every host's report of the boot first).
    await waitForReports(cluster.ds, HOSTS, cluster.config.serviceDownSeconds, 600);
    const rate = await livenessWriteRate(WINDOW_S, HOSTS);
    out(`liveness writes over ${WINDOW_S} s: ${rate.heartbeats} heartbeat, ${rate.reports} resource report → ${rate.per100.toFixed(3)} per s per 100 hosts (target ≤ 1)`);
    const { up, reporting } = await hostsUpAndReporting(cluster.ds, cluster.config.serviceDownSeconds);
    out(`hosts up: ${up} of ${HOSTS}; hosts whose reported usage matches their instances and claims: ${reporting}`);

    const latencies: number[] = [];
    const consumers: string[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const uuid = randomUUID();
      consumers.push(uuid);
      const t = process.hrtime.bigint();
      await cluster.scheduler.selectDestinations(newRequestContext({ user_id: 'admin', project_id: 'admin' }), [uuid], { flavor, image_ref: 'cirros', project_id: 'admin', num_attempts: 1 });
      latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    await cluster.ds.query('DELETE FROM allocations WHERE consumer_uuid = ANY($1)', [consumers]);
    out(`placement (select_destinations over RabbitMQ, ${HOSTS} hosts, ${SAMPLES} calls): p50 ${percentile(latencies, 0.5).toFixed(1)} ms, p99 ${percentile(latencies, 0.99).toFixed(1)} ms`);

    const token = await injectToken(app, 'admin', 'ferry-admin');
    const drained = hosts.slice(0, DRAINED);
    const [{ n: onDrained }] = (await cluster.ds.query('SELECT count(*)::int AS n FROM instances WHERE host = ANY($1) AND deleted_at IS NULL', [drained])) as { n: number }[];
    const drainStart = Date.now();
    const ids = await Promise.all(drained.map(async (h) => {
      const res = await app.inject({ method: 'POST', url: `/compute/v2.1/os-ferry-hosts/${h}/drain`, headers: { 'x-auth-token': token }, payload: {} });
      if (res.statusCode !== 202) throw new Error(`drain ${h}: ${res.statusCode} ${res.body}`);
      return res.json().drain.id as string;
    }));
    let moved = 0;
    let failed = 0;
    for (const id of ids) {
      for (;;) {
        const r = await app.inject({ method: 'GET', url: `/compute/v2.1/os-ferry-drains/${id}`, headers: { 'x-auth-token': token } });
        const d = r.json().drain as { done: boolean; moved: number; failed: number };
        if (d.done) {
          moved += d.moved;
          failed += d.failed;
          break;
        }
        if (Date.now() - drainStart > 1_800_000) throw new Error(`drain ${id} not done after 1800 s`);
        await sleep(250);
      }
    }
    const drainSeconds = (Date.now() - drainStart) / 1000;
    const [{ n: left }] = (await cluster.ds.query('SELECT count(*)::int AS n FROM instances WHERE host = ANY($1) AND deleted_at IS NULL', [drained])) as { n: number }[];
    out(`drain of ${DRAINED} hosts at once (${onDrained} instances): ${drainSeconds.toFixed(1)} s; moved ${moved}, failed ${failed}, left on them ${left}`);

    const tables = (await cluster.ds.query(
      `SELECT relname AS name, pg_total_relation_size(relid) AS bytes FROM pg_stat_user_tables ORDER BY pg_total_relation_size(relid) DESC`,
    )) as { name: string; bytes: string }[];
    const rows: string[] = [];
    let total = 0;
    for (const t of tables) {
      const [{ n }] = (await cluster.ds.query(`SELECT count(*)::int AS n FROM "${t.name}"`)) as { n: number }[];
      total += n;
      if (n > 0) rows.push(`${t.name} ${n} (${mib(Number(t.bytes))} MiB)`);
    }
    const [{ size }] = (await cluster.ds.query('SELECT pg_database_size(current_database()) AS size')) as { size: string }[];
    out(`postgres: ${total} rows, database ${mib(Number(size))} MiB; ${rows.join(', ')}`);
  } finally {
    await app.close();
    await transport.close();
    await cluster.close();
  }
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
