// Control-plane throughput of cold migration: 500 concurrent moves of empty-disk servers across 20 fake hosts over
// RabbitMQ and Postgres, against a floor of raw broker round trips and Postgres commits measured in the same run.
/*
 * Method. A fresh Postgres database and a random bus prefix (both deleted at the end); the real scheduler and 20
 * fake-driver compute services, each on its own broker connection. Layout (FERRY_BENCH_MOVES_PROCESSES):
 *   1 (default): the requester, the scheduler and the 20 computes in this one process and event loop; the services
 *     share one Postgres pool (FERRY_BENCH_MOVES_POOL, default 20).
 *   2: the requester and the scheduler in this process (the scheduler on a pool of FERRY_BENCH_MOVES_POOL), the 20
 *     computes in one child Node process (support/compute-process.ts, its own pool of FERRY_BENCH_MOVES_POOL), as a
 *     deployment runs them. The child counts its own casts, notifications and SQL and reports its CPU over IPC; the
 *     figures below add them to this process's, so per-move counts mean the same in both layouts.
 * The requester (the API's role) has its own pool of 10. Periodic power sync
 * and resource reports are off (interval 3600 s) and heartbeats slowed to 30 s, so the database sees the moves only.
 * 500 servers (+15 probes) of a zero-disk flavor are built through the scheduler in batches of 50. Each move is
 * requested as the API does it (CAS to resize_prep with both flavors and the instance action in one statement,
 * migrate_server cast to the scheduler); all 500 at once. Latency per move = guest_started.at (written by the same statement that sets the
 * record `finished`) − the moment its request began; the records are polled every 20 ms with one query.
 * Floor, measured on the same broker and database before the moves: raw amqplib request/reply round trip (as
 * rpc.bench.ts) and the mean latency of 500 sequential autocommit single-row UPDATEs. Floor per move =
 * 4 casts × RTT + 10 commits × commit latency (counted from the flow's code; see WRITES_TO_FINISHED), checked
 * against the statements the probe moves actually send (pg's Client#query is wrapped to count them).
 * Run: npm run bench:moves (FERRY_BENCH_MOVES_COUNT, _POOL, _PROBES override the move count, the services' pool size
 * and the number of probes; FERRY_BENCH_MOVES_TRACE=1 prints the last probe's statements, casts, notifications and
 * driver calls on a timeline, in the one-process layout;
 * FERRY_BENCH_MOVES_PROCESSES=1|2 chooses the layout above; FERRY_BENCH_MOVES_PROFILE=<dir> writes a CPU profile of
 * this process, not the compute process, over the 500-move run there).
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { InstanceFlavor } from '@ferry/common/db';
import { BenchCluster } from './support/bench-cluster';
import { clusterCounts } from './support/cluster-counts';
import type { TallySnapshot } from './support/counting-transport';
import { CpuMeter, formatCpu, nodeProcessCpu } from './support/cpu';
import { RunProfile } from './support/run-profile';
import { pipelined, sequential, startRawRpc } from './support/raw-rpc';
import { diff, SqlCounter, type SqlCounts } from './support/sql-counter';
import { fixed, mean, percentile, sleep } from './support/stats';
import { timeline, tracing, type TimelineRecord } from './support/timeline';

const MOVES = Number(process.env.FERRY_BENCH_MOVES_COUNT ?? 500);
/** Probe moves, one at a time before the run: their median is the unloaded latency (FERRY_BENCH_MOVES_PROBES). */
const PROBES = Number(process.env.FERRY_BENCH_MOVES_PROBES ?? 15);
const HOST_COUNT = 20;
const POOL = Number(process.env.FERRY_BENCH_MOVES_POOL ?? 20);
const PROCESSES = Number(process.env.FERRY_BENCH_MOVES_PROCESSES ?? 1);
const POLL_MS = 20;
const RUN_TIMEOUT_MS = 120_000;

/** The casts one move sends before its record is `finished`. */
const CASTS = ['migrate_server', 'prep_resize', 'resize_instance', 'finish_resize'];

/**
 * The writes (each its own commit) from the request to the record's `finished`, read off the code, in order.
 * Not counted: finish_resize's action event, written when that step ends, after `finished`.
 */
const WRITES_TO_FINISHED: readonly (readonly [string, number])[] = [
  ['API: instance CAS to resize_prep with the instance action (takeTaskWithAction, one statement)', 1],
  ['scheduler migrate_server: claim (one call of ferry_claim_resources), action event (one INSERT as the step ends, alongside the prep_resize cast)', 2],
  ['dest prep_resize: action event (one INSERT as the step ends), INSERT migration (createMigration), the two at once', 2],
  ['source resize_instance: record → migrating with pass 1\'s start, instance → resize_migrating (advanceMoveAndInstance, one statement)', 1],
  ['  pass 1\'s end, guest_stopped, the empty pass 2 and the copy\'s figures ride on post-migrating (progress is written every 500 ms at most)', 0],
  ['  action event (one INSERT as the step ends), record → post-migrating with instance → resize_migrated (one statement), the two at once', 2],
  ['dest finish_resize: instance → resize_finish, record → finished with instance → VERIFY_RESIZE (one statement)', 2],
];
const WRITES = WRITES_TO_FINISHED.reduce((n, [, k]) => n + k, 0);
/** Writes on the path after `finished`: finish_resize's action event. */
const WRITES_AFTER_FINISHED = 1;

const hostNames = Array.from({ length: HOST_COUNT }, (_, i) => `host-${String(i + 1).padStart(2, '0')}`);
const ms = (n: number, width = 8) => `${fixed(n, 2, width)} ms`;

interface Floor {
  rttP50: number;
  rttMean: number;
  castP50: number;
  rpcPerSecond: number;
  commitMean: number;
  commitP50: number;
  commitsPerSecond: number;
}

async function newClient(url: string, counter: SqlCounter): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  counter.ignore(client);
  await client.connect();
  return client;
}

/** Raw broker round trips and Postgres commits, on the cluster's broker and database, while it is idle. */
async function measureFloor(cluster: BenchCluster, dbUrl: string, counter: SqlCounter): Promise<Floor> {
  const raw = await startRawRpc(cluster.transportUrl, cluster.prefix);
  let rtt: number[];
  let cast: number[];
  let rpcPerSecond: number;
  try {
    await sequential(1000, raw.call);
    rtt = await sequential(1000, raw.call);
    await sequential(100, raw.cast);
    cast = await sequential(300, raw.cast);
    rpcPerSecond = await pipelined(64, 1500, raw.call);
  } finally {
    await raw.close();
  }

  const clients = await Promise.all(Array.from({ length: 16 }, () => newClient(dbUrl, counter)));
  try {
    const [first] = clients;
    await first.query('CREATE TABLE bench_commit (id integer PRIMARY KEY, n bigint NOT NULL)');
    await first.query('INSERT INTO bench_commit SELECT g, 0 FROM generate_series(1, 16) g');
    const update = (c: pg.Client, id: number) => c.query('UPDATE bench_commit SET n = n + 1 WHERE id = $1', [id]).then(() => undefined);
    await sequential(100, () => update(first, 1));
    const commits = await sequential(500, () => update(first, 1));
    // Throughput: 16 connections, each updating its own row (no lock waits), for 1.5 s.
    let done = 0;
    const started = performance.now();
    await Promise.all(clients.map(async (c, i) => {
      while (performance.now() - started < 1500) {
        await update(c, i + 1);
        done++;
      }
    }));
    const commitsPerSecond = done / ((performance.now() - started) / 1000);
    await first.query('DROP TABLE bench_commit');
    return {
      rttP50: percentile(rtt, 0.5), rttMean: mean(rtt), castP50: percentile(cast, 0.5), rpcPerSecond,
      commitMean: mean(commits), commitP50: percentile(commits, 0.5), commitsPerSecond,
    };
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
}

interface Finished {
  uuid: string;
  at: number;
}

/** Polls every POLL_MS with one query until `count` records are finished; returns when each was (guest_started.at). */
async function pollFinished(
  cluster: BenchCluster, poller: pg.Client, uuids: readonly string[], timeoutMs: number,
): Promise<{ finished: Finished[]; errors: string[] }> {
  const wanted = new Set(uuids);
  const finished = new Map<string, number>();
  const errors: string[] = [];
  const seen = new Set<string>();
  const deadline = Date.now() + timeoutMs;
  while (finished.size + errors.length < wanted.size) {
    if (Date.now() > deadline) break;
    cluster.assertServing();
    await sleep(POLL_MS);
    const { rows } = await poller.query<{ instance_uuid: string; status: string; at: string | null; last_error: string | null }>(
      `SELECT instance_uuid, status, phase_timings->'guest_started'->>'at' AS at, last_error
         FROM migrations WHERE status IN ('finished', 'error') AND NOT (instance_uuid = ANY($1::uuid[]))`,
      [[...seen]],
    );
    for (const r of rows) {
      if (!wanted.has(r.instance_uuid)) continue;
      seen.add(r.instance_uuid);
      if (r.status === 'finished' && r.at) finished.set(r.instance_uuid, Date.parse(r.at));
      else errors.push(`${r.instance_uuid}: ${r.status} ${r.last_error ?? ''}`);
    }
  }
  return { finished: [...finished].map(([uuid, at]) => ({ uuid, at })), errors };
}

/** The traced move's events, then the time its statements, driver calls and casts (sent → received) took, each summed. */
function printTimeline({ events, spent }: TimelineRecord, latencyMs: number): void {
  console.log(`timeline of the last probe move (request → finished ${latencyMs} ms; times in ms from the request):`);
  let prev = 0;
  for (const e of events) {
    console.log(`  ${e.t.toFixed(2).padStart(8)}  +${(e.t - prev).toFixed(2).padStart(6)}  ${e.label}`);
    prev = e.t;
  }
  console.log(`  summed over the whole trace (overlaps counted twice; the trace's own stack walks slow each statement): ` +
    `sql ${spent.sql.toFixed(2)} ms, driver ${spent.driver.toFixed(2)} ms, cast → received ${spent.cast.toFixed(2)} ms; request → finished ${latencyMs} ms`);
}

function countLine(c: SqlCounts, per: number): string {
  const f = (n: number) => (n / per).toFixed(1);
  return `${f(c.inserts + c.updates + c.deletes + c.combinedWrites)} writes (${f(c.inserts)} INSERT, ${f(c.updates)} UPDATE, ${f(c.deletes)} DELETE, ` +
    `${f(c.combinedWrites)} WITH) in ` +
    `${f(c.writeCommits)} commits, ${f(c.transactions)} explicit transactions, ${f(c.selects)} SELECTs, ${f(c.other)} other`;
}

async function main(): Promise<void> {
  if (PROCESSES !== 1 && PROCESSES !== 2) throw new Error(`FERRY_BENCH_MOVES_PROCESSES must be 1 or 2, not ${process.env.FERRY_BENCH_MOVES_PROCESSES}`);
  const split = PROCESSES === 2;
  console.log(`Ferry cold-migration control-plane throughput: ${MOVES} concurrent migrations of empty-disk servers across ${HOST_COUNT} fake hosts`);
  if (split) {
    console.log(`  layout: 2 processes (FERRY_BENCH_MOVES_PROCESSES=2): requester + scheduler in this process, the ${HOST_COUNT} compute services in one child process;`);
    console.log('  RabbitMQ (one connection per service) and a fresh Postgres database');
    console.log(`  (scheduler pool ${POOL}, compute process pool ${POOL}, requester pool 10); periodic power sync/resource report off, heartbeats every 30 s.`);
  } else {
    console.log(`  layout: 1 process (FERRY_BENCH_MOVES_PROCESSES=1): requester, scheduler and ${HOST_COUNT} compute services in this process;`);
    console.log('  RabbitMQ (one connection per service) and a fresh Postgres database');
    console.log(`  (services share a pool of ${POOL}, requester pool of 10); periodic power sync/resource report off, heartbeats every 30 s.`);
  }
  console.log('  latency = request start (CAS) → record `finished` (its guest_started.at); throughput = moves / (last finished − first request).');
  console.log(`  floor per move = ${CASTS.length} casts (${CASTS.join(', ')}) × raw RTT + ${WRITES} commits × Postgres commit latency.`);
  console.log('');

  const counter = new SqlCounter();
  counter.install();
  const cluster = await BenchCluster.start({
    bus: 'amqp', database: 'postgres', hosts: hostNames,
    driver: { vcpus: 1024, memoryMb: 1 << 20, diskGb: 1000, guestWriteRate: 0 },
    config: { powerSyncSeconds: 3600, heartbeatSeconds: 30, serviceDownSeconds: 300 },
    poolSize: POOL, apiPoolSize: 10, transportPerService: true, computeProcess: split,
  });
  let poller: pg.Client | undefined;
  try {
    const dbUrl = cluster.dbUrl!;
    poller = await newClient(dbUrl, counter);
    const flavor: InstanceFlavor = await cluster.createFlavor({ name: 'bench.zero-disk', vcpus: 1, memory_mb: 64, root_gb: 0 });

    let t = performance.now();
    const uuids = await cluster.requestBuilds(flavor, MOVES + PROBES, 50);
    const built = await cluster.awaitActive(uuids, 120_000);
    console.log(`built ${built.length} servers (root_gb 0) through the scheduler in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    const floor = await measureFloor(cluster, dbUrl, counter);
    console.log('');
    console.log('floor, measured on the idle broker and database:');
    console.log(`  raw amqplib request/reply RTT             p50 ${ms(floor.rttP50)}   mean ${ms(floor.rttMean)}   (1000 sequential)`);
    console.log(`  raw request/reply, 64 in flight            ${fixed(floor.rpcPerSecond, 0, 8)} round trips/s`);
    console.log(`  raw persistent confirmed publish→consume   p50 ${ms(floor.castP50)}   (what a Ferry cast waits for; not in the floor)`);
    console.log(`  Postgres single-row autocommit UPDATE      p50 ${ms(floor.commitP50)}   mean ${ms(floor.commitMean)}   (500 sequential)`);
    console.log(`  Postgres UPDATEs, 16 connections           ${fixed(floor.commitsPerSecond, 0, 8)} commits/s`);

    // Probes: one move at a time on the otherwise idle cluster, counting what each sends.
    const byUuid = new Map(built.map((i) => [i.uuid, i]));
    const probeLatency: number[] = [];
    const probeSql: SqlCounts[] = [];
    const probeCasts: Map<string, number>[] = [];
    const probeNotifications: number[] = [];
    for (const uuid of uuids.slice(MOVES)) {
      const before = await clusterCounts(cluster, counter);
      const requested = Date.now();
      const traced = tracing && uuid === uuids[uuids.length - 1];
      if (traced) timeline.start();
      await cluster.requestMove(byUuid.get(uuid)!);
      const { finished, errors } = await pollFinished(cluster, poller, [uuid], 30_000);
      if (errors.length > 0 || finished.length === 0) throw new Error(`probe move failed: ${errors.join('; ') || 'timeout'}`);
      probeLatency.push(finished[0].at - requested);
      // Let the steps after `finished` land too: the count below is the whole move.
      await sleep(200);
      if (traced) printTimeline(timeline.stop(), finished[0].at - requested);
      const after = await clusterCounts(cluster, counter);
      probeSql.push(diff(after.sql, before.sql));
      probeCasts.push(new Map([...after.tally.casts].map(([m, n]) => [m, n - (before.tally.casts.get(m) ?? 0)])));
      const notes = (s: TallySnapshot) => [...s.notifications.values()].reduce((a, b) => a + b, 0);
      probeNotifications.push(notes(after.tally) - notes(before.tally));
    }
    console.log('');
    console.log(`${PROBES} probe moves, one at a time: request → finished p50 ${percentile(probeLatency, 0.5)} ms, min ${Math.min(...probeLatency)} ms, max ${Math.max(...probeLatency)} ms (${probeLatency.map((l) => `${l}`).join(', ')} ms)`);
    console.log(`  casts per move: ${[...probeCasts[0]].filter(([, n]) => n > 0).map(([m, n]) => `${m} ${n}`).join(', ')}; notifications per move: ${[...new Set(probeNotifications)].join(', ')}`);
    console.log(`  SQL per whole move (measured): ${countLine(probeSql[0], 1)}`);
    console.log(`  writes counted from the code: ${WRITES} to \`finished\` + ${WRITES_AFTER_FINISHED} after = ${WRITES + WRITES_AFTER_FINISHED}:`);
    for (const [what, n] of WRITES_TO_FINISHED) console.log(`    ${String(n).padStart(2)}  ${what}`);

    // The run: every move requested at once.
    const moves = uuids.slice(0, MOVES).map((u) => byUuid.get(u)!);
    const before = await clusterCounts(cluster, counter);
    const requestedAt = new Map<string, number>();
    const acceptedAt = new Map<string, number>();
    const firstRequest = Date.now();
    const profile = new RunProfile(process.env.FERRY_BENCH_MOVES_PROFILE);
    await profile.start();
    const cpu = new CpuMeter();
    const cpuStart = process.cpuUsage();
    t = performance.now();
    const requests = Promise.all(moves.map(async (i) => {
      requestedAt.set(i.uuid, Date.now());
      await cluster.requestMove(i);
      acceptedAt.set(i.uuid, Date.now());
    })).then(() => performance.now() - t);
    const [{ finished, errors }, requestsAccepted] = await Promise.all([pollFinished(cluster, poller, moves.map((i) => i.uuid), RUN_TIMEOUT_MS), requests]);
    const after = await clusterCounts(cluster, counter);
    const cpuFigures = cpu.figures();
    const cpuSelf = process.cpuUsage(cpuStart);
    const computeCpu = before.computeProcess && after.computeProcess ? nodeProcessCpu('compute process', before.computeProcess, after.computeProcess) : undefined;
    if (computeCpu) cpuFigures.others = [computeCpu];
    const profilePath = await profile.stop('moves');
    const sql = diff(after.sql, before.sql);
    const tally = after.tally;
    const tallyBefore = before.tally;
    const lastFinished = Math.max(...finished.map((f) => f.at));
    const latencies = finished.map((f) => f.at - requestedAt.get(f.uuid)!);
    const seconds = (lastFinished - firstRequest) / 1000;
    const rate = finished.length / seconds;
    const { rows: dests } = await poller.query<{ dest_compute: string; n: string }>(
      `SELECT dest_compute, count(*) AS n FROM migrations WHERE status = 'finished' GROUP BY dest_compute ORDER BY count(*) DESC`,
    );
    const destCounts = dests.map((d) => Number(d.n));

    console.log('');
    console.log(`${MOVES} moves requested at once (all ${MOVES} requests accepted after ${(requestsAccepted / 1000).toFixed(2)} s):`);
    console.log(`  finished ${finished.length}, failed ${errors.length}${errors.length ? ` (${errors.slice(0, 3).join('; ')})` : ''}, last after ${seconds.toFixed(2)} s`);
    console.log(`  latency request → finished   p50 ${ms(percentile(latencies, 0.5))}   p99 ${ms(percentile(latencies, 0.99))}   max ${ms(Math.max(...latencies))}`);
    const accepted = finished.map((f) => acceptedAt.get(f.uuid)! - requestedAt.get(f.uuid)!);
    const afterAccepted = finished.map((f) => f.at - acceptedAt.get(f.uuid)!);
    console.log(`    of which request accepted   p50 ${ms(percentile(accepted, 0.5))}   p99 ${ms(percentile(accepted, 0.99))}   (CAS + action + migrate_server cast confirmed)`);
    console.log(`    accepted → finished         p50 ${ms(percentile(afterAccepted, 0.5))}   p99 ${ms(percentile(afterAccepted, 0.99))}`);
    console.log(`  throughput                   ${fixed(rate, 1, 8)} migrations/s`);
    console.log(`  CPU during the run: ${formatCpu(cpuFigures, split ? 'this process (requester + scheduler)' : 'this process')}`);
    const selfMsPerMove = (cpuSelf.user + cpuSelf.system) / 1000 / finished.length;
    if (computeCpu) {
      const computeMsPerMove = (computeCpu.seconds * 1000) / finished.length;
      console.log(
        `  CPU per move: this process (requester + scheduler) ${fixed(selfMsPerMove, 1)} ms, compute process (${HOST_COUNT} computes) ` +
          `${fixed(computeMsPerMove, 1)} ms, both ${fixed(selfMsPerMove + computeMsPerMove, 1)} ms`,
      );
    } else {
      console.log(`  this process's CPU per move: ${fixed(selfMsPerMove, 1)} ms (all 21 services and the requester share its one event loop)`);
    }
    if (profilePath) console.log(`  CPU profile of the run: ${profilePath}`);
    console.log(`  destinations: ${dests.length} hosts, ${Math.min(...destCounts)}–${Math.max(...destCounts)} moves each`);
    console.log(`  per move during the run: ${countLine(sql, MOVES)}`);
    console.log(`  casts per move: ${[...tally.casts].map(([m, n]) => [m, n - (tallyBefore.casts.get(m) ?? 0)] as const).filter(([, n]) => n > 0).map(([m, n]) => `${m} ${(n / MOVES).toFixed(2)}`).join(', ')}`);

    const floorMs = CASTS.length * floor.rttP50 + WRITES * floor.commitMean;
    const floorRate = 1 / (CASTS.length / floor.rpcPerSecond + WRITES / floor.commitsPerSecond);
    const p50 = percentile(latencies, 0.5);
    console.log('');
    console.log(
      `floor latency per move = ${CASTS.length} casts × RTT p50 ${floor.rttP50.toFixed(3)} ms + ${WRITES} writes × commit mean ${floor.commitMean.toFixed(3)} ms ` +
        `= ${floorMs.toFixed(2)} ms`,
    );
    console.log(`p50 / floor = ${(p50 / floorMs).toFixed(1)}   (unloaded probe median / floor = ${(percentile(probeLatency, 0.5) / floorMs).toFixed(1)})`);
    console.log(
      `floor throughput bound = 1 / (${CASTS.length} / ${floor.rpcPerSecond.toFixed(0)} RTT/s + ${WRITES} / ${floor.commitsPerSecond.toFixed(0)} commits/s) = ` +
        `${floorRate.toFixed(1)} migrations/s (each capacity measured saturating this machine's ${availableParallelism()} cores; the two share them, so their costs add)`,
    );
    console.log(`migrations/s / floor bound = ${(rate / floorRate).toFixed(3)}`);
    if (finished.length < MOVES) process.exitCode = 1;
  } finally {
    await poller?.end().catch(() => undefined);
    await cluster.close();
    counter.uninstall();
  }
}

main().catch((err: unknown) => {
  console.error('moves benchmark failed:', err);
  process.exitCode = 1;
});
