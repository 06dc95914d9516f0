// Cold-migration downtime benchmark: the two-pass copy against stop-then-copy, for a 1 GiB disk of random data.
/*
 * Method. The real scheduler and two fake-driver compute services run in this process on the embedded database
 * (PGlite) and the in-process bus; disks move with the LocalTransfer (flush before rename, as deployed). Each round
 * builds two m1.tiny servers (1 GiB root disk) through the scheduler and fills both disks with random data. Each
 * simulated guest writes 32 MiB (64 KiB blocks at random offsets, 256 MiB/s) while its disk is tracked, i.e. during
 * pass 1. Then, in alternating order:
 *  - two-pass: the running server is migrated. Pass 1 copies the disk while the guest runs, the source powers it
 *    off, pass 2 copies the regions written meanwhile, the destination starts the guest.
 *    downtime = phase_timings.guest_started.at − phase_timings.guest_stopped.at (written after the power-off).
 *  - stop-then-copy: the other server is stopped (the API's stop), then migrated; the flow copies the whole disk
 *    while it is off (copy_while_off) and the destination defines it (stopped: it was stopped before the move).
 *    downtime, the same way = guest_started.at − guest_stopped.at: whole copy + hand-over + finish. That leaves out
 *    the stop itself and the scheduling before the copy, so it is the smaller (harsher) baseline; the end-to-end
 *    figure (stop request → stopped, plus move request → guest_started.at) is shown beside it.
 * After each move the destination disk's sha256 must equal the source's. Medians over the rounds give the ratio.
 * Run: npm run bench:cold (FERRY_BENCH_COLD_ROUNDS sets the rounds, default 3).
 */
import { execFile } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { open } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { Migration, type Instance, type PhaseTimings } from '@ferry/common/db';
import { BenchCluster } from './support/bench-cluster';
import { fixed, median, sleep, waitUntil } from './support/stats';
import { sha256File } from './support/sha256-file';

const MIB = 1024 * 1024;
const ROUNDS = Number(process.env.FERRY_BENCH_COLD_ROUNDS ?? 3);
const GUEST_WRITE_RATE = 256 * MIB;
const GUEST_WRITE_LIMIT = 32 * MIB;
const TARGET_RATIO = 0.1;
const HOSTS = ['compute-1', 'compute-2'];
const MOVE_TIMEOUT_MS = 300_000;

const run = promisify(execFile);

/** Overwrites the whole file with random data, 1 MiB at a time; returns its sha256. */
async function fillRandom(path: string): Promise<string> {
  const hash = createHash('sha256');
  const chunk = Buffer.allocUnsafe(MIB);
  const handle = await open(path, 'r+');
  try {
    const { size } = await handle.stat();
    for (let at = 0; at < size; at += MIB) {
      const n = Math.min(MIB, size - at);
      randomFillSync(chunk, 0, n);
      hash.update(chunk.subarray(0, n));
      await handle.write(chunk, 0, n, at);
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}


interface Phase {
  at?: string;
  started_at?: string;
  finished_at?: string;
  seconds?: number;
  bytes?: number;
  bytes_planned?: number;
  ranges?: number;
}

const phase = (t: PhaseTimings, name: string): Phase => (t[name] ?? {}) as Phase;
const ms = (iso: string | undefined): number => {
  if (!iso) throw new Error('phase timestamp missing from the migration record');
  return Date.parse(iso);
};

interface MoveResult {
  migration: Migration;
  downtimeMs: number;
  /** Move request (before the CAS) → guest_started.at. */
  requestToStartedMs: number;
  /** 'ok (<first 12 hex digits>)' when the destination disk's sha256 equals the source's. */
  checksum: string;
  ok: boolean;
}

async function awaitMove(cluster: BenchCluster, uuid: string): Promise<Migration> {
  const repo = cluster.ds.getRepository(Migration);
  const deadline = Date.now() + MOVE_TIMEOUT_MS;
  for (;;) {
    const m = await repo.findOne({ where: { instance_uuid: uuid }, order: { id: 'DESC' } });
    if (m?.status === 'finished') return m;
    if (m?.status === 'error') throw new Error(`migration of ${uuid} failed: ${m.last_error}`);
    if (Date.now() > deadline) throw new Error(`migration of ${uuid} not finished within ${MOVE_TIMEOUT_MS} ms (status ${m?.status ?? 'none'})`);
    await sleep(20);
  }
}

/** Migrates instance, waits for `finished`, compares the destination disk with the source's (expected: its hash). */
async function move(cluster: BenchCluster, instance: Instance, expectedHash: string | undefined): Promise<MoveResult> {
  const requested = Date.now();
  await cluster.requestMove(instance);
  const m = await awaitMove(cluster, instance.uuid);
  const t = m.phase_timings;
  const started = ms(phase(t, 'guest_started').at);
  const sourceHash = expectedHash ?? (await sha256File(cluster.driver(m.source_compute!).diskPath(instance.uuid)));
  const destHash = await sha256File(cluster.driver(m.dest_compute!).diskPath(instance.uuid));
  return {
    migration: m,
    downtimeMs: started - ms(phase(t, 'guest_stopped').at),
    requestToStartedMs: started - requested,
    checksum: destHash === sourceHash ? `ok (${destHash.slice(0, 12)}…)` : `MISMATCH (source ${sourceHash.slice(0, 12)}…, destination ${destHash.slice(0, 12)}…)`,
    ok: destHash === sourceHash,
  };
}

const mib = (bytes: number | undefined) => fixed((bytes ?? 0) / MIB, 1);
const seconds = (s: number | undefined) => fixed(s ?? 0, 3);

async function main(): Promise<void> {
  console.log('Ferry cold-migration downtime: two-pass copy vs stop-then-copy');
  console.log(`  ${ROUNDS} round(s); per round two m1.tiny servers (1 GiB root disk filled with random data), scheduler + 2 fake-driver`);
  console.log('  computes in this process on the embedded database (PGlite) and the in-process bus, LocalTransfer (fsync on).');
  console.log(`  The guest writes ${GUEST_WRITE_LIMIT / MIB} MiB (${GUEST_WRITE_LIMIT / (64 * 1024)} × 64 KiB at random offsets, ${GUEST_WRITE_RATE / MIB} MiB/s) during pass 1;`);
  console.log('  blocks hit twice count once, so pass 2 plans a little under that (≈ 31.5 MiB expected).');
  console.log('  downtime = phase_timings.guest_started.at − guest_stopped.at for both; stop-then-copy is the server stopped');
  console.log('  (API stop) before the move, so the flow copies the whole disk while it is off. End-to-end stop-then-copy =');
  console.log('  (stop request → vm_state stopped) + (move request → guest_started.at), shown for reference.');
  console.log('');

  const cluster = await BenchCluster.start({
    bus: 'inproc', database: 'embedded', hosts: HOSTS,
    driver: { vcpus: 16, memoryMb: 65536, diskGb: 1000, guestWriteRate: GUEST_WRITE_RATE, guestWriteLimit: GUEST_WRITE_LIMIT },
    // No periodic power sync or resource report during the moves (they would only add noise).
    config: { powerSyncSeconds: 3600 },
  });
  const twoPass: number[] = [];
  const stopThenCopy: number[] = [];
  const endToEnd: number[] = [];
  let mismatches = 0;
  try {
    const tiny = await cluster.flavor('m1.tiny');
    for (let round = 1; round <= ROUNDS; round++) {
      const uuids = await cluster.requestBuilds(tiny, 2);
      const [running, stopped] = await cluster.awaitActive(uuids, 60_000);
      await fillRandom(cluster.driver(running.host!).diskPath(running.uuid));
      const stoppedHash = await fillRandom(cluster.driver(stopped.host!).diskPath(stopped.uuid));
      // Neither move pays for writing back the fill.
      await run('sync');

      const stopRequested = performance.now();
      await cluster.requestStop(stopped);
      await waitUntil(async () => {
        const i = await cluster.instance(stopped.uuid);
        return i.vm_state === 'stopped' && i.task_state === null;
      }, 'stop', 30_000, 2);
      const stopMs = performance.now() - stopRequested;
      await run('sync');

      const doTwoPass = async () => {
        const r = await move(cluster, await cluster.instance(running.uuid), undefined);
        const t = r.migration.phase_timings;
        const p1 = phase(t, 'copy_pass_1');
        const p2 = phase(t, 'copy_pass_2');
        twoPass.push(r.downtimeMs);
        if (!r.ok) mismatches++;
        // Where the downtime went: guest_stopped → pass 2 start → pass 2 end → guest_started.
        const stoppedAt = ms(phase(t, 'guest_stopped').at);
        const p2Start = ms(p2.started_at);
        const p2End = ms(p2.finished_at);
        const startedAt = ms(phase(t, 'guest_started').at);
        console.log(
          `round ${round}  two-pass        downtime ${fixed(r.downtimeMs, 1, 8)} ms   pass 1 ${mib(p1.bytes)} MiB in ${seconds(p1.seconds)} s (guest running); ` +
            `pass 2 ${p2.ranges ?? 0} ranges, bytes_planned ${mib(p2.bytes_planned)} MiB, ${mib(p2.bytes)} MiB in ${seconds(p2.seconds)} s; sha256 ${r.checksum}`,
        );
        console.log(
          `                                               = ${p2Start - stoppedAt} ms to start pass 2 + ${p2End - p2Start} ms pass 2 + ` +
            `${startedAt - p2End} ms hand-over and finish (guest_stopped → copy_pass_2 → guest_started); ` +
            `before it, ${stoppedAt - ms(p1.finished_at)} ms from pass 1's end to guest_stopped (a DB write, the power-off)`,
        );
      };
      const doStopThenCopy = async () => {
        const r = await move(cluster, await cluster.instance(stopped.uuid), stoppedHash);
        const t = r.migration.phase_timings;
        const off = phase(t, 'copy_while_off');
        if (!t.copy_while_off || t.copy_pass_1) throw new Error('stop-then-copy move did not copy the whole disk while off');
        stopThenCopy.push(r.downtimeMs);
        endToEnd.push(stopMs + r.requestToStartedMs);
        if (!r.ok) mismatches++;
        console.log(
          `round ${round}  stop-then-copy  downtime ${fixed(r.downtimeMs, 1, 8)} ms   copy_while_off ${mib(off.bytes)} MiB in ${seconds(off.seconds)} s; ` +
            `stop ${fixed(stopMs, 1)} ms, end-to-end ${fixed(stopMs + r.requestToStartedMs, 1)} ms; sha256 ${r.checksum}`,
        );
      };
      // Alternate the order so neither always runs first.
      for (const step of round % 2 === 1 ? [doTwoPass, doStopThenCopy] : [doStopThenCopy, doTwoPass]) await step();

      // Free the round's 4 GiB: both copies of both servers.
      for (const i of [running, stopped]) for (const host of HOSTS) await cluster.driver(host).destroy(i.uuid);
    }
  } finally {
    await cluster.close();
  }

  const twoPassMedian = median(twoPass);
  const baselineMedian = median(stopThenCopy);
  const endToEndMedian = median(endToEnd);
  const ratio = twoPassMedian / baselineMedian;
  console.log('');
  console.log(`median downtime, two-pass:                                   ${fixed(twoPassMedian, 1, 9)} ms`);
  console.log(`median downtime, stop-then-copy (guest_stopped → started):   ${fixed(baselineMedian, 1, 9)} ms`);
  console.log(`median downtime, stop-then-copy end-to-end (with stop):      ${fixed(endToEndMedian, 1, 9)} ms`);
  console.log(`checksums: ${twoPass.length + stopThenCopy.length - mismatches} of ${twoPass.length + stopThenCopy.length} destination disks equal their source`);
  console.log('');
  console.log(`two-pass / stop-then-copy = ${ratio.toFixed(3)} (target ≤ ${TARGET_RATIO}): ${ratio <= TARGET_RATIO && mismatches === 0 ? 'PASS' : 'MISS'}`);
  console.log(`(two-pass / stop-then-copy end-to-end = ${(twoPassMedian / endToEndMedian).toFixed(3)})`);
  if (mismatches > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error('cold-migration benchmark failed:', err);
  process.exitCode = 1;
});
