// Host drain by live migration: 200 fake-driver instances from one host to 10 others, 1 vs 4 live-migration slots.
/*
 * Method. Three rounds (FERRY_BENCH_LIVE_ROUNDS) of two runs, 1 then 4 slots, each on a fresh BenchCluster (new
 * Postgres database and bus prefix, deleted afterwards): the scheduler and 11 fake-driver computes, each on its own
 * RabbitMQ connection (the requester, the API's role, has a pool of 5). Layout (FERRY_BENCH_LIVE_PROCESSES):
 *   1 (default): the scheduler and the 11 computes in this process, sharing a pool of 20;
 *   2: the scheduler in this process, the 11 computes in one child Node process (support/compute-process.ts), each
 *     process with a pool of 20, as a deployment runs them (there each compute is a process of its own). The child's
 *     casts and SQL are added to this process's, its CPU is shown beside; the driver-step breakdown is the one-process
 *     layout's only.
 * Only max_concurrent_live_migrations differs between the two runs of a round. 200 servers with the RAM of
 * m1.tiny or m1.small and no root disk (the job is the RAM pre-copy alone) are built with force_hosts [source-01];
 * each has a seeded RAM dirty rate (metadata ferry:dirty_rate_mib_s) uniform in 0–60% of the bandwidth, the same in
 * both runs. All 200 live migrations are requested at once, as an operator's drain would; the source's slots queue them.
 * Request = when its CAS to `migrating` began; preparing = phase_timings.preparing.started_at (polled every 20 ms
 * while the record holds it, by a client of the benchmark's own); completed = the record's updated_at from the
 * statement that made it `completed`; transfer = perform.elapsed_ms × time scale; overhead = request → completed −
 * transfer. The fake drivers' live-migration steps are wrapped to stamp when each begins (a breakdown of the slot's
 * time); SQL is counted by wrapping pg's Client#query. After each run: all instances ACTIVE, no task, on a
 * destination; no VM (FakeDriver.listVms) and no allocation left on the source.
 * The verdict: median wall(4 slots) / median wall(1 slot) ≤ 0.3 (ideal 0.25); each round's ratio and walls beside it.
 * Run: npm run bench:live (FERRY_BENCH_LIVE_COUNT overrides the instance count, FERRY_BENCH_LIVE_TIME_SCALE the 0.01;
 * FERRY_BENCH_LIVE_PROFILE=<dir> writes each drain's CPU profile there, FERRY_BENCH_LIVE_SQL_CALLERS=1 counts the SQL by
 * the function that sent it).
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { Instance, listAllocations, type InstanceFlavor } from '@ferry/common/db';
import { DIRTY_RATE_METADATA_KEY, POWER_STATES } from '@ferry/common/domain';
import { BenchCluster } from './support/bench-cluster';
import { clusterCounts } from './support/cluster-counts';
import { CpuMeter, formatCpu, nodeProcessCpu, type CpuFigures, type NodeProcessCpu } from './support/cpu';
import { RunProfile } from './support/run-profile';
import { diff, SqlCounter, type SqlCounts } from './support/sql-counter';
import { fixed, mean, percentile, sleep } from './support/stats';
import { seededRandom } from '../support/seeded-random';

const COUNT = Number(process.env.FERRY_BENCH_LIVE_COUNT ?? 200);
const SLOT_RUNS = [1, 4];
/** Rounds of both runs, interleaved (1, 4, 1, 4, …) so neither always meets the machine's busier moments. */
const ROUNDS = Number(process.env.FERRY_BENCH_LIVE_ROUNDS ?? 3);
/** wall(4 slots) / wall(1 slot), medians of the rounds, at most (ideal 0.25). */
const TARGET_RATIO = 0.3;
const SOURCE = 'source-01';
const DESTS = Array.from({ length: 10 }, (_, i) => `dest-${String(i + 1).padStart(2, '0')}`);
const MIB = 1024 * 1024;
/** The link a live migration's RAM goes over: 1 GiB/s (about a 10 GbE link), the fake's default, set explicitly. */
const BANDWIDTH = 1024 * MIB;
const MAX_DIRTY_SHARE = 0.6;
/** Wall seconds per simulated second of the fake's pre-copy (FERRY_BENCH_LIVE_TIME_SCALE). */
const TIME_SCALE = Number(process.env.FERRY_BENCH_LIVE_TIME_SCALE ?? 0.01);
const MONITOR_MS = 20;
const SEED = 20240611;
const POLL_MS = 20;
/** The status counts are read every this many polls (the completion time comes from the record, not the poll). */
const COUNT_EVERY = 5;
const IDLE_MS = 2000;
/** FERRY_BENCH_LIVE_PROFILE=<dir>: a CPU profile of this process from the first request until every instance settled, per run. */
const PROFILE_DIR = process.env.FERRY_BENCH_LIVE_PROFILE;
/** FERRY_BENCH_LIVE_SQL_CALLERS=1: also break the statements down by the Ferry function that sent them (slows the run). */
const SQL_CALLERS = process.env.FERRY_BENCH_LIVE_SQL_CALLERS === '1';
const RUN_TIMEOUT_MS = 180_000;
const PROCESSES = Number(process.env.FERRY_BENCH_LIVE_PROCESSES ?? 1);
const SPLIT = PROCESSES === 2;
const TERMINAL = ['completed', 'error', 'failed', 'cancelled'];

const ms = (n: number, width = 8) => `${fixed(n, 1, width)} ms`;

/** One guest of the drain: its RAM size (flavor) and how fast it dirties its RAM. */
interface Guest {
  flavor: 'tiny' | 'small';
  dirtyMibS: number;
}


function plan(): Guest[] {
  const rand = seededRandom(SEED);
  return Array.from({ length: COUNT }, () => ({
    flavor: rand() < 0.5 ? 'tiny' : 'small',
    dirtyMibS: Math.round(rand() * MAX_DIRTY_SHARE * (BANDWIDTH / MIB)),
  }));
}

/** One migration as the record and the driver saw it. */
interface Move {
  uuid: string;
  status: string;
  requested: number;
  completed: number;
  preparing: number | undefined;
  /** perform.elapsed_ms: simulated ms. */
  elapsedMs: number | undefined;
  iterations: number | undefined;
  /** Where preparing's start came from: the record (seen while it still held it) or the action event's start. */
  preparingFrom: 'record' | 'event' | undefined;
  stamps: Stamps;
  dest: string | null;
  lastError: string | null;
}

interface RunResult {
  slots: number;
  moves: Move[];
  /** First request → last `completed`, ms. */
  wall: number;
  requestsAccepted: number;
  firstRequest: number;
  cpu: CpuFigures;
  /** The same process idle (cluster built, nothing requested, the watcher polling). */
  idle: CpuFigures;
  /** This process's CPU (the scheduler, the requester, the poller and, in one process, the computes), ms. */
  cpuSelfMs: number;
  /** The compute process's CPU and event loop over the drain (split layout only). */
  computeCpu: NodeProcessCpu | undefined;
  /** SQL the services and the requester sent from the first request until every instance settled. */
  sql: SqlCounts;
  /** The same statements by caller and shape (FERRY_BENCH_LIVE_SQL_CALLERS only). */
  sqlByCaller: Map<string, number>;
  casts: Map<string, number>;
  calls: number;
  notifications: number;
  checks: string[];
  problems: string[];
}

/** When each driver step of one migration began (epoch ms), as the fake drivers saw it. */
interface Stamps {
  begin?: number;
  prepare?: number;
  perform?: number;
  jobDone?: number;
  finish?: number;
  confirm?: number;
}

const now = () => performance.timeOrigin + performance.now();

/** Wraps every fake driver's live-migration steps to stamp when each began (and when the job ended), by instance uuid. */
function stampDrivers(cluster: BenchCluster): Map<string, Stamps> {
  const stamps = new Map<string, Stamps>();
  const stamp = (uuid: string, step: keyof Stamps) => {
    const s = stamps.get(uuid) ?? {};
    s[step] ??= now();
    stamps.set(uuid, s);
  };
  for (const d of cluster.drivers.values()) {
    const begin = d.liveMigrationBegin.bind(d);
    const prepare = d.liveMigrationPrepare.bind(d);
    const perform = d.liveMigrationPerform.bind(d);
    const finish = d.liveMigrationFinish.bind(d);
    const confirm = d.liveMigrationConfirm.bind(d);
    d.liveMigrationBegin = (uuid, opts) => { stamp(uuid, 'begin'); return begin(uuid, opts); };
    d.liveMigrationPrepare = (spec, cookie, opts) => { stamp(spec.uuid, 'prepare'); return prepare(spec, cookie, opts); };
    d.liveMigrationPerform = async (uuid, cookie, opts) => {
      const job = await perform(uuid, cookie, opts);
      stamp(uuid, 'perform');
      job.done.then(() => stamp(uuid, 'jobDone'), () => undefined);
      return job;
    };
    d.liveMigrationFinish = (uuid, cookie, opts) => { if (opts.success) stamp(uuid, 'finish'); return finish(uuid, cookie, opts); };
    d.liveMigrationConfirm = (uuid, cookie, opts) => { if (opts.success) stamp(uuid, 'confirm'); return confirm(uuid, cookie, opts); };
  }
  return stamps;
}

interface RecordRow {
  instance_uuid: string;
  status: string;
  dest_compute: string | null;
  last_error: string | null;
  updated_ms: string;
  event_ms: string | null;
  elapsed_ms: string | null;
  iterations: string | null;
}

async function drain(slots: number, guests: readonly Guest[], counter: SqlCounter, round: number): Promise<RunResult> {
  const cluster = await BenchCluster.start({
    bus: 'amqp', database: 'postgres', hosts: [SOURCE, ...DESTS],
    driver: {
      vcpus: 1024, memoryMb: 1 << 20, diskGb: 1000, guestWriteRate: 0,
      liveMigrationBandwidth: BANDWIDTH, liveMigrationTimeScale: TIME_SCALE,
    },
    config: {
      maxConcurrentLiveMigrations: slots, liveMigrationMonitorMs: MONITOR_MS,
      powerSyncSeconds: 3600, heartbeatSeconds: 30, serviceDownSeconds: 300,
    },
    poolSize: 20, apiPoolSize: 5, transportPerService: true, computeProcess: SPLIT,
  });
  // The benchmark's own reads go through a client of their own, not counted and not taking the services' pool.
  const poller = new pg.Client({ connectionString: cluster.dbUrl });
  counter.ignore(poller);
  try {
    await poller.connect();
    // The guests, all on the source: the m1.tiny ones, then the m1.small ones, each with its dirty rate.
    const flavors: Record<Guest['flavor'], InstanceFlavor> = { tiny: await zeroDisk(cluster, 'm1.tiny'), small: await zeroDisk(cluster, 'm1.small') };
    const uuidOf: string[] = [];
    let t = performance.now();
    for (const kind of ['tiny', 'small'] as const) {
      const indexes = guests.flatMap((g, i) => (g.flavor === kind ? [i] : []));
      if (indexes.length === 0) continue;
      const uuids = await cluster.requestBuilds(flavors[kind], indexes.length, 50, {
        forceHosts: [SOURCE], metadata: (k) => ({ [DIRTY_RATE_METADATA_KEY]: String(guests[indexes[k]].dirtyMibS) }),
      });
      uuids.forEach((u, k) => { uuidOf[indexes[k]] = u; });
    }
    const built = await cluster.awaitActive(uuidOf, 120_000);
    const onSource = await cluster.vmsOn(SOURCE);
    if (built.some((i) => i.host !== SOURCE) || onSource.length !== COUNT) throw new Error(`build: ${onSource.length} VMs on ${SOURCE}, expected ${COUNT}`);
    console.log(`  built ${COUNT} servers on ${SOURCE} (force_hosts) in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    const byUuid = new Map<string, Instance>(built.map((i) => [i.uuid, i]));
    // The drivers are stamped where they run: in this process only (the child's are out of reach).
    const stamps = SPLIT ? new Map<string, Stamps>() : stampDrivers(cluster);
    const seenPreparing = new Map<string, number>();
    const requestedAt = new Map<string, number>();
    const watch = new Watch(poller, seenPreparing);
    // The idle cost of this process (timers, heartbeats, the watcher's own queries), to tell from the migrations' CPU.
    const idleMeter = new CpuMeter();
    await watch.run(() => false, IDLE_MS);
    const idle = idleMeter.figures();
    const before = await clusterCounts(cluster, counter);
    const callersBefore = counter.callerSnapshot();
    const profiler = new RunProfile(PROFILE_DIR);
    await profiler.start();
    const cpu = new CpuMeter();
    const cpuStart = process.cpuUsage();
    const firstRequest = Date.now();
    t = performance.now();
    // The drain: every live migration requested at once, in the plan's order; the scheduler picks each destination.
    const requests = Promise.all(uuidOf.map(async (uuid) => {
      requestedAt.set(uuid, Date.now());
      await cluster.requestLiveMigration(byUuid.get(uuid)!);
    })).then(() => performance.now() - t);
    const terminal = await watch.run((n) => n >= COUNT, RUN_TIMEOUT_MS);
    const requestsAccepted = await requests;
    const after = await clusterCounts(cluster, counter);
    const cpuFigures = cpu.figures();
    const cpuUsed = process.cpuUsage(cpuStart);
    const computeCpu = before.computeProcess && after.computeProcess ? nodeProcessCpu('compute process', before.computeProcess, after.computeProcess) : undefined;
    if (computeCpu) cpuFigures.others = [computeCpu];
    if (terminal < COUNT) throw new Error(`only ${terminal} of ${COUNT} live migrations ended within ${RUN_TIMEOUT_MS} ms (${watch.counts})`);
    // The instance's task is cleared just after its record turns `completed`: the flow ends there.
    await waitSettled(poller, uuidOf);
    const profile = await profiler.stop(`live-${slots}slots-round${round}`);
    if (profile) console.log(`  CPU profile, first request → settled: ${profile}`);
    const sql = diff(after.sql, before.sql);
    const sqlByCaller = new Map([...counter.callerSnapshot()].map(([k, n]) => [k, n - (callersBefore.get(k) ?? 0)] as const).filter(([, n]) => n > 0));
    const { tally } = after;
    const tallyBefore = before.tally;
    const casts = new Map([...tally.casts].map(([m, n]) => [m, n - (tallyBefore.casts.get(m) ?? 0)] as const).filter(([, n]) => n > 0));
    const notes = (x: typeof tally) => [...x.notifications.values()].reduce((a, b) => a + b, 0);

    const { rows } = await poller.query<RecordRow>(
      `SELECT instance_uuid, status, dest_compute, last_error,
              (extract(epoch FROM updated_at) * 1000)::text AS updated_ms,
              phase_timings->'perform'->>'elapsed_ms' AS elapsed_ms,
              phase_timings->'perform'->>'iterations' AS iterations,
              (SELECT (extract(epoch FROM e.start_time) * 1000)::text FROM instance_action_events e JOIN instance_actions a ON a.id = e.action_id
                WHERE a.instance_uuid = m.instance_uuid AND e.event = 'compute_live_migration' ORDER BY e.id LIMIT 1) AS event_ms
         FROM migrations m WHERE migration_type = 'live-migration'`);
    // A record that still holds preparing.started_at at the end (none while completion drops it) is read here.
    const { rows: final } = await poller.query<{ instance_uuid: string; at: string }>(
      `SELECT instance_uuid, phase_timings->'preparing'->>'started_at' AS at FROM migrations WHERE migration_type = 'live-migration' AND phase_timings ? 'preparing'`);
    for (const r of final) seenPreparing.set(r.instance_uuid, Date.parse(r.at));
    const num = (s: string | null) => (s === null ? undefined : Number(s));
    const moves: Move[] = rows.map((r) => ({
      uuid: r.instance_uuid, status: r.status, requested: requestedAt.get(r.instance_uuid)!, completed: Number(r.updated_ms),
      preparing: seenPreparing.get(r.instance_uuid) ?? num(r.event_ms),
      preparingFrom: seenPreparing.has(r.instance_uuid) ? 'record' : r.event_ms === null ? undefined : 'event',
      elapsedMs: num(r.elapsed_ms), iterations: num(r.iterations), stamps: stamps.get(r.instance_uuid) ?? {}, dest: r.dest_compute, lastError: r.last_error,
    }));
    const done = moves.filter((m) => m.status === 'completed');
    const wall = Math.max(...done.map((m) => m.completed)) - firstRequest;

    const { checks, problems } = await verify(cluster, uuidOf, moves);
    return {
      slots, moves, wall, requestsAccepted, firstRequest, cpu: cpuFigures, idle, cpuSelfMs: (cpuUsed.user + cpuUsed.system) / 1000, computeCpu,
      sql, sqlByCaller, casts, calls: tally.calls - tallyBefore.calls, notifications: notes(tally) - notes(tallyBefore), checks, problems,
    };
  } finally {
    await poller.end().catch(() => undefined);
    await cluster.close();
  }
}

/** Polls the records: every POLL_MS the preparing start of those in a slot, every COUNT_EVERY polls the statuses. */
class Watch {
  counts = '';

  constructor(private readonly poller: pg.Client, private readonly preparing: Map<string, number>) {}

  /** Polls until done(migrations ended) holds or for at most ms; returns how many ended. */
  async run(done: (ended: number) => boolean, ms: number): Promise<number> {
    const deadline = Date.now() + ms;
    let ended = 0;
    for (let i = 1; Date.now() < deadline; i++) {
      await sleep(POLL_MS);
      // phase_timings.preparing.started_at, read while the record still holds it (completion drops it).
      const { rows: started } = await this.poller.query<{ instance_uuid: string; at: string }>(
        `SELECT instance_uuid, phase_timings->'preparing'->>'started_at' AS at FROM migrations
          WHERE status IN ('preparing', 'running', 'post-migrating') AND phase_timings ? 'preparing'`);
      for (const r of started) if (!this.preparing.has(r.instance_uuid)) this.preparing.set(r.instance_uuid, Date.parse(r.at));
      if (i % COUNT_EVERY !== 0) continue;
      const { rows } = await this.poller.query<{ status: string; n: string }>(
        `SELECT status, count(*) AS n FROM migrations WHERE migration_type = 'live-migration' GROUP BY status`);
      ended = rows.filter((r) => TERMINAL.includes(r.status)).reduce((a, r) => a + Number(r.n), 0);
      this.counts = rows.map((r) => `${r.status} ${r.n}`).join(', ');
      if (done(ended)) break;
    }
    return ended;
  }
}

/** Waits (up to 30 s) until none of the instances has a task. */
async function waitSettled(poller: pg.Client, uuids: readonly string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const { rows } = await poller.query<{ n: string }>('SELECT count(*) AS n FROM instances WHERE uuid = ANY($1::uuid[]) AND task_state IS NOT NULL', [uuids]);
    if (Number(rows[0].n) === 0) return;
    await sleep(POLL_MS);
  }
}

/** A flavor with the named seeded flavor's vCPUs and RAM and no root disk. */
async function zeroDisk(cluster: BenchCluster, name: string): Promise<InstanceFlavor> {
  const f = await cluster.flavor(name);
  return cluster.createFlavor({ name: `bench.${name}.nodisk`, vcpus: f.vcpus, memory_mb: f.memory_mb, root_gb: 0 });
}

/** The end state after a drain: instances settled on destinations, the source empty in the driver and in placement. */
async function verify(cluster: BenchCluster, uuids: readonly string[], moves: readonly Move[]): Promise<{ checks: string[]; problems: string[] }> {
  const checks: string[] = [];
  const problems: string[] = [];
  const instances = await cluster.ds.getRepository(Instance).createQueryBuilder('i').where('i.uuid IN (:...uuids)', { uuids }).getMany();
  const destOf = new Map(moves.map((m) => [m.uuid, m.dest]));
  const good = instances.filter((i) => i.vm_state === 'active' && i.task_state === null && i.host !== null && DESTS.includes(i.host) && destOf.get(i.uuid) === i.host);
  const perHost = DESTS.map((h) => instances.filter((i) => i.host === h).length);
  (good.length === uuids.length ? checks : problems).push(
    `${good.length}/${uuids.length} instances ACTIVE, task null, on their record's destination (per destination ${Math.min(...perHost)}–${Math.max(...perHost)})`);
  const bad = instances.filter((i) => !good.includes(i)).slice(0, 3);
  for (const i of bad) problems.push(`  instance ${i.uuid}: ${i.vm_state}/${i.task_state} on ${i.host}`);

  const sourceVms = await cluster.vmsOn(SOURCE);
  (sourceVms.length === 0 ? checks : problems).push(`${sourceVms.length} VMs left on ${SOURCE} (FakeDriver.listVms)`);
  let destVms = 0;
  let destRunning = 0;
  for (const h of DESTS) {
    const vms = await cluster.vmsOn(h);
    destVms += vms.length;
    destRunning += vms.filter((v) => v.power_state === POWER_STATES.RUNNING).length;
  }
  (destVms === uuids.length && destRunning === uuids.length ? checks : problems).push(`${destVms} VMs on the destinations, ${destRunning} running`);
  const sourceAllocs = await listAllocations(cluster.ds, { host: SOURCE });
  (sourceAllocs.length === 0 ? checks : problems).push(`${sourceAllocs.length} allocations left on ${SOURCE}`);
  const allocs = await listAllocations(cluster.ds);
  const consumers = new Set(allocs.map((a) => a.consumer_uuid));
  (consumers.size === uuids.length && allocs.every((a) => DESTS.includes(a.host)) ? checks : problems).push(
    `${allocs.length} allocation rows for ${consumers.size} consumers, all on destinations: ${allocs.every((a) => DESTS.includes(a.host))}`);
  return { checks, problems };
}

/** The steps inside a slot, between the stamps: what each covers in the flow. */
const SEGMENTS: readonly [string, (m: Move) => number | undefined, (m: Move) => number | undefined][] = [
  ['preparing → Begin       (source: action event SELECT + INSERT)', (m) => m.preparing, (m) => m.stamps.begin],
  ['Begin → Prepare         (pre_live_migration call; dest reads, event, notification)', (m) => m.stamps.begin, (m) => m.stamps.prepare],
  ['Prepare → Perform       (dest files, event, reply; record → running)', (m) => m.stamps.prepare, (m) => m.stamps.perform],
  ['Perform → job done      (the fake job, measured on the wall clock)', (m) => m.stamps.perform, (m) => m.stamps.jobDone],
  ['job done → Finish       (→ post-migrating with the final progress, call; dest reads, event)', (m) => m.stamps.jobDone, (m) => m.stamps.finish],
  ['Finish → Confirm        (dest VM + instance host write, reply, notification)', (m) => m.stamps.finish, (m) => m.stamps.confirm],
  ['Confirm → completed     (source VM removed; claim, record and task in one statement)', (m) => m.stamps.confirm, (m) => m.completed],
];

/**
 * The slot time not inside any preparing → completed window: before the first starts (the requests' way through the
 * scheduler and the destination checks), after the last completions (fewer left than slots), and between a completion
 * and the next start (the instance's task write, the action event's finish, the slot's release, the next run's re-read).
 */
function idle(r: RunResult, moves: readonly Move[]): string {
  const starts = moves.map((m) => m.preparing!).sort((a, b) => a - b);
  const ends = moves.map((m) => m.completed).sort((a, b) => a - b);
  const last = ends[ends.length - 1];
  const startup = starts.slice(0, r.slots).reduce((a, t) => a + t - r.firstRequest, 0);
  const tail = ends.slice(-r.slots).reduce((a, t) => a + last - t, 0);
  const held = moves.reduce((a, m) => a + m.completed - m.preparing!, 0);
  const between = r.wall * r.slots - held - startup - tail;
  const handovers = Math.max(1, moves.length - r.slots);
  return `startup ${fixed(startup / 1000, 2)} s, tail ${fixed(tail / 1000, 2)} s, between ${fixed(between / 1000, 2)} s ` +
    `(${fixed(between / handovers, 1)} ms per hand-over)`;
}

/** The most preparing → completed windows open at one moment (the source's slots allow maxConcurrentLiveMigrations). */
function maxOverlap(moves: readonly Move[]): number {
  const edges = moves.flatMap((m) => [[m.preparing!, 1], [m.completed, -1]] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let most = 0;
  for (const [, d] of edges) {
    open += d;
    most = Math.max(most, open);
  }
  return most;
}

/** ms from the first request to the first preparing. */
function firstStart(r: RunResult): number {
  return Math.min(...r.moves.filter((m) => m.preparing !== undefined).map((m) => m.preparing!)) - r.firstRequest;
}

function report(r: RunResult): void {
  const done = r.moves.filter((m) => m.status === 'completed');
  const others = r.moves.filter((m) => m.status !== 'completed');
  const byStatus = new Map<string, number>();
  for (const m of others) byStatus.set(m.status, (byStatus.get(m.status) ?? 0) + 1);
  const transfer = (m: Move) => (m.elapsedMs ?? NaN) * TIME_SCALE;
  const transfers = done.map(transfer);
  const total = done.map((m) => m.completed - m.requested);
  const overhead = done.map((m) => m.completed - m.requested - transfer(m));
  const withPreparing = done.filter((m) => m.preparing !== undefined);
  const fromRecord = withPreparing.filter((m) => m.preparingFrom === 'record').length;
  const queueWait = withPreparing.map((m) => m.preparing! - m.requested);
  const hold = withPreparing.map((m) => m.completed - m.preparing!);
  const holdOverhead = withPreparing.map((m) => m.completed - m.preparing! - transfer(m));
  const timed = done.filter((m) => m.stamps.perform !== undefined && m.stamps.jobDone !== undefined);
  const jobGap = timed.map((m) => m.stamps.jobDone! - m.stamps.perform! - transfer(m));
  const row = (label: string, xs: number[]) =>
    `  ${label.padEnd(40)} p50 ${ms(percentile(xs, 0.5))}   p99 ${ms(percentile(xs, 0.99))}   mean ${ms(mean(xs))}`;

  console.log(`  all ${COUNT} requests accepted after ${(r.requestsAccepted / 1000).toFixed(2)} s (CAS with action, record, live_migrate_server cast)`);
  console.log(`  wall time, first request → last \`completed\`   ${fixed(r.wall / 1000, 2, 7)} s`);
  console.log(`  throughput                                 ${fixed(done.length / (r.wall / 1000), 2, 7)} migrations/s`);
  console.log(`  completed ${done.length}, other statuses ${others.length}` +
    `${others.length ? ` (${[...byStatus].map(([st, n]) => `${st} ${n}`).join(', ')}; e.g. ${others[0].lastError ?? ''})` : ''}`);
  console.log(row('request → completed', total));
  console.log(row(`driver transfer (elapsed_ms × ${TIME_SCALE})`, transfers) +
    `   sum ${fixed(transfers.reduce((x, y) => x + y, 0) / 1000, 2)} s, ${fixed(mean(done.map((m) => m.iterations ?? NaN)), 1)} passes on average`);
  console.log(row('orchestration overhead (− transfer)', overhead));
  if (withPreparing.length === done.length) {
    console.log(row('queue wait (request → preparing)', queueWait) +
      `   (preparing.started_at: ${fromRecord} from the record, ${done.length - fromRecord} from the compute_live_migration event start)`);
    console.log(row('slot held (preparing → completed)', hold) + `   at most ${maxOverlap(withPreparing)} at once`);
    const byStart = [...withPreparing].sort((a, b) => a.preparing! - b.preparing!).map((m) => m.completed - m.preparing!);
    const early = Math.max(1, Math.round(byStart.length * 0.05));
    console.log(`    by start order: the first ${early} (started while the other requests were still being scheduled and checked) mean ${ms(mean(byStart.slice(0, early)), 1).trim()}, ` +
      `the rest mean ${ms(mean(byStart.slice(early)), 1).trim()}`);
    console.log(row('  slot held − transfer', holdOverhead));
    console.log(`  slot occupancy Σ(slot held) / (wall × ${r.slots} slot${r.slots > 1 ? 's' : ''}) = ${(hold.reduce((x, y) => x + y, 0) / (r.wall * r.slots) * 100).toFixed(0)}%; ` +
      `slot time outside preparing → completed: ${idle(r, withPreparing)}`);
  } else {
    console.log(`  queue wait (request → preparing): n/a, ${done.length - withPreparing.length} of ${done.length} migrations have no preparing start`);
  }
  if (timed.length > 0) console.log(row('job wall − elapsed_ms × scale', jobGap) + `   (${timed.length} jobs: the fake's 5 ms tick, timer lateness, the pause write)`);
  const stamped = done.filter((m) => m.preparing !== undefined && SEGMENTS.every(([, from, to]) => from(m) !== undefined && to(m) !== undefined));
  if (stamped.length > 0) {
    console.log(`  inside the slot, from driver stamps (${stamped.length} migrations):`);
    for (const [label, from, to] of SEGMENTS) console.log(row(`  ${label.split('(')[0].trim()}`, stamped.map((m) => to(m)! - from(m)!)) + `   ${label.slice(label.indexOf('('))}`);
  }
  console.log(`  CPU during the drain: ${formatCpu(r.cpu)}`);
  console.log(`  CPU idle before it (${IDLE_MS / 1000} s, watcher polling): ${formatCpu(r.idle)}`);
  const busyMs = r.cpuSelfMs - r.idle.self * r.cpu.wallSeconds * 1000;
  if (r.computeCpu) {
    console.log(`  CPU per migration: this process (scheduler + requester) ${fixed(r.cpuSelfMs / done.length, 1)} ms, ${fixed(busyMs / done.length, 1)} ms above idle; ` +
      `compute process (11 computes) ${fixed(r.computeCpu.seconds * 1000 / done.length, 1)} ms`);
  } else {
    console.log(`  this process's CPU per migration: ${fixed(r.cpuSelfMs / done.length, 1)} ms, ${fixed(busyMs / done.length, 1)} ms above idle ` +
      `(scheduler, 11 computes and the requester share its one event loop)`);
  }
  const per = (n: number) => (n / r.moves.length).toFixed(1);
  const q = r.sql;
  console.log(`  per migration, request to task cleared: ${per(q.selects + q.inserts + q.updates + q.deletes + q.combinedWrites + q.transactions + q.other)} SQL statements ` +
    `(${per(q.selects)} SELECT, ${per(q.inserts)} INSERT, ${per(q.updates)} UPDATE, ${per(q.deletes)} DELETE, ${per(q.combinedWrites)} WITH of several writes; ` +
    `${per(q.writeCommits)} write commits), ` +
    `${per([...r.casts.values()].reduce((a, b) => a + b, 0))} casts + ${per(r.calls)} calls, ${per(r.notifications)} notifications`);
  if (r.sqlByCaller.size > 0) {
    console.log('    by the function that sent them (per migration):');
    for (const [caller, n] of [...r.sqlByCaller].sort((a, b) => b[1] - a[1])) console.log(`      ${per(n).padStart(5)}  ${caller}`);
  }
  console.log(`    casts: ${[...r.casts].map(([m, n]) => `${m} ${per(n)}`).join(', ')}`);
  for (const c of r.checks) console.log(`  ok    ${c}`);
  for (const p of r.problems) console.log(`  FAIL  ${p}`);
}

async function main(): Promise<void> {
  const guests = plan();
  const tiny = guests.filter((g) => g.flavor === 'tiny').length;
  const rates = guests.map((g) => g.dirtyMibS);
  console.log(`Ferry live-migration host drain: ${COUNT} instances from ${SOURCE} to ${DESTS.length} hosts (${DESTS[0]}..${DESTS[DESTS.length - 1]}), max_concurrent_live_migrations ${SLOT_RUNS.join(' vs ')}, ${ROUNDS} rounds`);
  console.log(`  time scale ${TIME_SCALE}: the fake's pre-copy runs ${1 / TIME_SCALE}× faster than real time (1 simulated s = ${1000 * TIME_SCALE} ms wall); ` +
    `monitor interval ${MONITOR_MS} ms wall; bandwidth ${BANDWIDTH / MIB} MiB/s (simulated)`);
  console.log(`  guests (seed ${SEED}, same in both runs): ${tiny} × 512 MiB (m1.tiny RAM), ${COUNT - tiny} × 2048 MiB (m1.small RAM), no root disk; ` +
    `dirty rate uniform 0–${MAX_DIRTY_SHARE * 100}% of bandwidth: min ${Math.min(...rates)}, p50 ${percentile(rates, 0.5)}, max ${Math.max(...rates)} MiB/s`);
  if (PROCESSES !== 1 && PROCESSES !== 2) throw new Error(`FERRY_BENCH_LIVE_PROCESSES must be 1 or 2, not ${process.env.FERRY_BENCH_LIVE_PROCESSES}`);
  console.log(SPLIT
    ? '  layout: 2 processes (FERRY_BENCH_LIVE_PROCESSES=2): the scheduler and the requester in this process, the 11 compute services in one child process; '
    : '  layout: 1 process (FERRY_BENCH_LIVE_PROCESSES=1): the scheduler, the requester and the 11 compute services in this process; ');
  console.log('  each service on its own RabbitMQ connection, a fresh Postgres database per run; all requested at once, destinations chosen by the scheduler');
  console.log('');
  const runs = new Map<number, RunResult[]>(SLOT_RUNS.map((n) => [n, []]));
  const counter = new SqlCounter();
  counter.install();
  if (SQL_CALLERS) counter.traceCallers();
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const slots of SLOT_RUNS) {
        console.log(`round ${round} of ${ROUNDS}, run: max_concurrent_live_migrations = ${slots}`);
        const r = await drain(slots, guests, counter, round);
        report(r);
        runs.get(slots)!.push(r);
        console.log('');
        if (r.problems.length > 0 || r.moves.some((m) => m.status !== 'completed')) process.exitCode = 1;
      }
    }
  } finally {
    counter.uninstall();
  }
  // The run of median wall time of each slot count stands for it; the spread is every round's.
  const medianRun = (rs: RunResult[]) => [...rs].sort((a, b) => a.wall - b.wall)[Math.floor(rs.length / 2)];
  const results = SLOT_RUNS.map((n) => medianRun(runs.get(n)!));
  const walls = (n: number) => runs.get(n)!.map((r) => fixed(r.wall / 1000, 2).trim()).join(', ');
  const headline = results[1].wall / results[0].wall;
  const pairRatios = runs.get(SLOT_RUNS[1])!.map((r, i) => (r.wall / runs.get(SLOT_RUNS[0])![i].wall).toFixed(2)).join(', ');
  console.log(`wall time, ${ROUNDS} rounds: ${SLOT_RUNS[0]} slot ${walls(SLOT_RUNS[0])} s; ${SLOT_RUNS[1]} slots ${walls(SLOT_RUNS[1])} s`);
  console.log(`wall(${SLOT_RUNS[1]}) / wall(${SLOT_RUNS[0]}), medians of ${ROUNDS}: ${fixed(results[1].wall / 1000, 2).trim()} s / ${fixed(results[0].wall / 1000, 2).trim()} s = ` +
    `${headline.toFixed(2)} (target ≤ ${TARGET_RATIO}, ideal ${SLOT_RUNS[0] / SLOT_RUNS[1]}): ${headline <= TARGET_RATIO ? 'MET' : 'NOT MET'}; each round's ratio: ${pairRatios}`);
  const [one, four] = results;
  const completed = (r: RunResult) => r.moves.filter((m) => m.status === 'completed');
  const held = completed(one).every((m) => m.preparing !== undefined) && completed(four).every((m) => m.preparing !== undefined);
  const hold = (r: RunResult) => mean(completed(r).map((m) => m.completed - m.preparing!));
  const occupancy = (r: RunResult) => completed(r).reduce((a, m) => a + m.completed - m.preparing!, 0) / (r.wall * r.slots);
  const transfer = (r: RunResult) => mean(completed(r).map((m) => (m.elapsedMs ?? NaN) * TIME_SCALE));
  if (!held) return;
  console.log(`The median runs, taken apart: speed-up wall(${one.slots}) / wall(${four.slots}) = ${(one.wall / four.wall).toFixed(2)} (ideal ${four.slots / one.slots})`);
  const [h1, h4, o1, o4] = [hold(one), hold(four), occupancy(one), occupancy(four)];
  console.log(`  = ${four.slots} slots × ${(h1 / h4).toFixed(2)} (mean slot hold ${ms(h1, 1).trim()} / ${ms(h4, 1).trim()}) × ` +
    `${(o4 / o1).toFixed(2)} (slot occupancy ${(o4 * 100).toFixed(0)}% / ${(o1 * 100).toFixed(0)}%)`);
  console.log(`  The fake's transfer is wall-clock time: 1 slot runs the ${COUNT} transfers one after another, ${four.slots} slots overlap ${four.slots}. ` +
    `But the transfer is ${(transfer(one) / h1 * 100).toFixed(0)}% of a slot's hold (mean ${ms(transfer(one), 1).trim()} of ${ms(h1, 1).trim()});`);
  const per = (n: number) => (n / one.moves.length).toFixed(1);
  const statements = one.sql.selects + one.sql.inserts + one.sql.updates + one.sql.deletes + one.sql.combinedWrites;
  console.log(`  the rest is orchestration (per migration ${per(statements)} SQL statements, ${per([...one.casts.values()].reduce((x, y) => x + y, 0) + one.calls)} ` +
    `RPC casts and calls, ${per(one.notifications)} notifications, driver file I/O), which ${four.slots} slots also overlap.`);
  const cpuLine = (r: RunResult) => `${formatCpu(r.cpu)} (idle before: machine ${(r.idle.machine ?? NaN).toFixed(2)})`;
  console.log(`  What limits it: the services run on ${SPLIT ? 'two event loops' : 'one event loop'}, on ${availableParallelism()} cores shared with Postgres, ` +
    'RabbitMQ and whatever else runs here (the Postgres and machine figures include other clients):');
  console.log(`    1 slot: ${cpuLine(one)};`);
  console.log(`    ${four.slots} slots: ${cpuLine(four)}.`);
  console.log(h4 > h1 * 1.1
    ? `  With ${four.slots} at once each migration waits for that CPU: its slot hold grows ×${(h4 / h1).toFixed(2)}, which is what keeps the ratio under ${four.slots}.`
    : `  The slot hold did not grow with ${four.slots} at once (×${(h4 / h1).toFixed(2)}): the ratio is the slot count times the occupancy change ` +
      '(the CPU left over by other load on this machine differs between runs; compare "machine" above).');
  console.log(`  Slots stand idle at the start (the first preparing ${fixed(firstStart(one) / 1000, 2)} s / ${fixed(firstStart(four) / 1000, 2)} s after the first request: ` +
    `the ${COUNT} requests go through the scheduler and the destination checks first) and at each hand-over.`);
  console.log(`  What ${four.slots} slots could reach against this 1-slot run: ${bounds(one, four)}.`);
}

/**
 * Lower bounds of wall(four) / wall(one) that the runs themselves show: the fake transfers' share of wall(one) (all
 * that more slots overlap for free), the start (first request → first preparing, which more slots do not shorten)
 * with everything after it overlapped perfectly, and the four-slot run's busiest event loop's busy time (the
 * services' orchestration runs on it: at 100% busy the run can be no shorter).
 */
function bounds(one: RunResult, four: RunResult): string {
  const transfers = one.moves.reduce((a, m) => a + (m.elapsedMs ?? 0) * TIME_SCALE, 0);
  const start = firstStart(one);
  const overlapped = (start + (one.wall - start) / four.slots) / one.wall;
  const loops = [{ label: SPLIT ? "this process's" : 'the one', busy: four.cpu.eventLoop }, ...(four.computeCpu ? [{ label: "the compute process's", busy: four.computeCpu.eventLoop }] : [])];
  const busiest = loops.reduce((a, b) => (b.busy > a.busy ? b : a));
  const loopBusy = busiest.busy * four.wall;
  return `the fake transfers in a row are ${fixed(transfers / 1000, 2).trim()} s, ${(transfers / one.wall * 100).toFixed(0)}% of wall(${one.slots}); ` +
    `with the start (${fixed(start / 1000, 2).trim()} s) as it is and all after it overlapped ${four.slots} ways the ratio is ≥ ${overlapped.toFixed(2)}; ` +
    `the ${four.slots}-slot run kept ${busiest.label} event loop busy ${fixed(loopBusy / 1000, 2).trim()} s, ≥ ${(loopBusy / one.wall).toFixed(2)} of wall(${one.slots}) even at 100% busy`;
}

main().catch((err: unknown) => {
  console.error('live benchmark failed:', err);
  process.exitCode = 1;
});
