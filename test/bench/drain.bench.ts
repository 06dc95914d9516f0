// Host drain benchmark: 200 fake instances (150 running, 50 stopped) drained off one host to 10 others by the elected
// scheduler, at the default limits and at a higher per-host limit that the host's link then caps for live migrations.
/*
 * Method. Each run on a fresh BenchCluster (new Postgres database, RabbitMQ with its own prefix): the scheduler and 11
 * fake-driver computes in this process, and the API (buildApp) on its own bus connection. 200 instances are written on
 * source-01 as finished builds leave them (row, claim, fake VM), RAM 512 or 1024 MiB (alternating), no root disk, so a
 * live move is the fake's RAM pre-copy (1 GiB/s, idle guests, real time) and a cold one the cold flow's steps; 50 are
 * stopped. The drain is started through POST /os-ferry-hosts/source-01/drain (mode auto) and followed through GET
 * /os-ferry-drains/{id}; total = the POST until the drain reads completed. A sampler reads the migrations table every
 * 20 ms: moves under way = open live and cold records (a cold move waiting for its confirm in `finished` excluded),
 * per source host, live only per source host, and in the cluster. Each source compute runs up to
 * FERRY_MAX_CONCURRENT_LIVE_MIGRATIONS = the drain's per-host limit, so the drain's limits are the ones that bind.
 * After each run: every instance off source-01, one move record each, moved.
 * Run: npm run bench:drain (FERRY_BENCH_DRAIN_COUNT overrides the instance count).
 */
import { buildApp } from '@ferry/api';
import { createTransport } from '@ferry/common/rpc';
import { silentLogger } from '@ferry/common/log';
import type { InstanceFlavor } from '@ferry/common/db';
import { BenchCluster } from './support/bench-cluster';
import { ConcurrencySampler, movesPerInstance, seedFleet, type FleetMember } from '../support/drain-fleet';
import { injectToken } from '../support/tokens';

const COUNT = Number(process.env.FERRY_BENCH_DRAIN_COUNT ?? 200);
const SOURCE = 'source-01';
const DESTS = Array.from({ length: 10 }, (_, i) => `dest-${String(i + 1).padStart(2, '0')}`);
const GIB = 1024 * 1024 * 1024;
const RUNS: { label: string; perHost: number; perCluster: number; link: number }[] = [
  { label: 'defaults', perHost: 2, perCluster: 5, link: 3_125_000_000 },
  { label: 'per host 5, 25 Gbit/s link', perHost: 5, perCluster: 5, link: 3_125_000_000 },
];

const flavor = (memory_mb: number): InstanceFlavor => ({
  id: 1, flavorid: `bench-${memory_mb}`, name: `bench.${memory_mb}`, vcpus: 1, memory_mb, root_gb: 0, ephemeral_gb: 0, swap: 0, extra_specs: {},
});

interface RunResult {
  seconds: number;
  perHost: number;
  livePerHost: number;
  cluster: number;
  samples: number;
  moved: number;
  failed: number;
  problems: string[];
}

async function once(run: (typeof RUNS)[number]): Promise<RunResult> {
  const cluster = await BenchCluster.start({
    bus: 'amqp', database: 'postgres', hosts: [SOURCE, ...DESTS], poolSize: 20,
    driver: { vcpus: 512, memoryMb: 512 * 1024, diskGb: 1000, liveMigrationBandwidth: GIB, liveMigrationTimeScale: 1 },
    config: {
      drainParallelPerHost: run.perHost, drainParallelPerCluster: run.perCluster, hostLinkBandwidth: run.link, drainIntervalMs: 100,
      maxConcurrentLiveMigrations: run.perHost, liveMigrationMonitorMs: 50, fakeMigrationBandwidth: GIB, powerSyncSeconds: 30,
    },
  });
  const transport = await createTransport({ url: cluster.transportUrl, prefix: cluster.prefix });
  const app = buildApp({ config: cluster.config, db: cluster.db, transport, log: silentLogger(), publicUrl: () => 'http://localhost' });
  try {
    await app.ready();
    const members: FleetMember[] = Array.from({ length: COUNT }, (_, i) => ({ flavor: flavor(i % 2 === 0 ? 512 : 1024), stopped: i % 4 === 3 }));
    const uuids = await seedFleet(cluster.ds, cluster.drivers.get(SOURCE)!, SOURCE, members);
    const token = await injectToken(app, 'admin', 'ferry-admin');
    const sampler = new ConcurrencySampler(cluster.ds);
    const started = Date.now();
    const res = await app.inject({ method: 'POST', url: `/compute/v2.1/os-ferry-hosts/${SOURCE}/drain`, headers: { 'x-auth-token': token }, payload: {} });
    if (res.statusCode !== 202) throw new Error(`drain: ${res.statusCode} ${res.body}`);
    const id = res.json().drain.id as string;
    let drain: { done: boolean; moved: number; failed: number; status: string };
    for (;;) {
      const r = await app.inject({ method: 'GET', url: `/compute/v2.1/os-ferry-drains/${id}`, headers: { 'x-auth-token': token } });
      drain = r.json().drain;
      if (drain.done) break;
      if (Date.now() - started > 900_000) throw new Error(`drain not done after 900 s: ${JSON.stringify({ ...drain, servers: undefined })}`);
      await new Promise((r2) => setTimeout(r2, 100));
    }
    const seconds = (Date.now() - started) / 1000;
    const seen = await sampler.stop();
    const problems: string[] = [];
    const moves = await movesPerInstance(cluster.ds, uuids);
    const onSource: { n: number }[] = await cluster.ds.query(`SELECT count(*)::int AS n FROM instances WHERE host = $1 AND deleted_at IS NULL`, [SOURCE]);
    if (onSource[0].n !== 0) problems.push(`${onSource[0].n} instances still on ${SOURCE}`);
    const wrong = uuids.filter((u) => moves.get(u)?.records !== 1 || moves.get(u)?.moved !== 1);
    if (wrong.length > 0) problems.push(`${wrong.length} instances without exactly one move`);
    return {
      seconds, perHost: seen.perHost[SOURCE] ?? 0, livePerHost: seen.livePerHost[SOURCE] ?? 0, cluster: seen.cluster, samples: seen.samples,
      moved: drain.moved, failed: drain.failed, problems,
    };
  } finally {
    await app.close();
    await transport.close();
    await cluster.close();
  }
}

async function main(): Promise<void> {
  process.stdout.write(`Drain of ${COUNT} fake instances (${COUNT - Math.floor(COUNT / 4)} running → live, ${Math.floor(COUNT / 4)} stopped → cold) off ${SOURCE} to ${DESTS.length} hosts; fake live migration 1 GiB/s each.\n\n`);
  process.stdout.write('| run | per-host limit | cluster limit | link | total | max moves off the host | max live off the host | max in the cluster | moved | failed | samples |\n|---|---|---|---|---|---|---|---|---|---|---|\n');
  let baseline: number | undefined;
  for (const run of RUNS) {
    const r = await once(run);
    baseline ??= r.seconds;
    process.stdout.write(`| ${run.label} | ${run.perHost} | ${run.perCluster} | ${(run.link * 8 / 1e9).toFixed(0)} Gbit/s | ${r.seconds.toFixed(1)} s (${(r.seconds / baseline).toFixed(2)}×) | ${r.perHost} | ${r.livePerHost} | ${r.cluster} | ${r.moved} | ${r.failed} | ${r.samples} |\n`);
    for (const p of r.problems) process.stdout.write(`  problem: ${p}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
