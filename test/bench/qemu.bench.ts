// Real guests (qemu driver, TCG): what Ferry's control plane adds to a live migration, and what two passes save a cold
// one. Interleaved, BENCH_RUNS (default 10) of each:
//   live, through Ferry: an all-in-one Ferry with two qemu hosts on shared storage; POST os-migrateLive, polled until
//     the record is `completed`. Guest pause = the source's STOP event → the destination's RESUME event (QEMU's
//     timestamps, recorded by the driver in the record's phase timings).
//   live, direct: the same guest image, two QEMUs driven over QMP with nothing else (-incoming defer -S, the same
//     capabilities and parameters, `cont` on the destination once completed). Same pause measure; total = `migrate`
//     sent → destination running.
//   cold: a 128 MiB guest whose qcow2 disk holds 256 MiB of data, moved between two qemu hosts by the driver, with the
//     transfer layer's own copy: two passes (snapshot; copy the frozen disk while the guest runs and writes 4 MiB;
//     power off; copy the overlay) vs stop-then-copy (power off; copy the whole disk). Downtime = power-off → the
//     disk is whole at the destination.
import { mkdirSync, symlinkSync } from 'node:fs';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ensureTestGuest, QemuDriver, QmpClient, type QmpEvent, type VmSpec } from '@ferry/compute/drivers';
import { freePort, startCloud, type Cloud } from '../support/cloud';
import { qemuIo, startGuestQemu, TEST_CACHE_DIR, type GuestQemu } from '../support/qemu';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
/** The downtime Ferry's ramp allows first (500 ms over 10 steps): the direct run allows the same. */
const FIRST_DOWNTIME_MS = Math.round(500 / 11 + 1);

interface Sample { pauseMs: number; totalMs: number }

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}
function spread(xs: number[]): string {
  return `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Ferry on two qemu hosts sharing instance storage, one idle 128 MiB server. */
async function ferrySide(): Promise<{ cloud: Cloud; migrate(): Promise<Sample>; close(): Promise<void> }> {
  const cloud = await startCloud('all-in-one', { FERRY_DRIVER: 'qemu', FERRY_QEMU_GUEST_CACHE: TEST_CACHE_DIR, FERRY_UP_COMPUTES: '2', FERRY_LIVE_MIGRATION_MONITOR_INTERVAL: '50' }, (stateDir) => {
    const shared = join(stateDir, 'shared-instances');
    mkdirSync(shared, { recursive: true });
    for (const host of ['compute-1', 'compute-2']) {
      mkdirSync(join(stateDir, 'hosts', host), { recursive: true });
      symlinkSync(shared, join(stateDir, 'hosts', host, 'instances'));
    }
  });
  const token = (await cloud.openstackJson<{ id: string }>('ferry-admin', ['token', 'issue'])).id;
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${cloud.url}/compute/v2.1${path}`, {
      method, headers: { 'x-auth-token': token, 'content-type': 'application/json', 'x-openstack-nova-api-version': '2.30' }, body: body ? JSON.stringify(body) : undefined,
    });
    if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.status === 204 || res.status === 202 ? {} : ((await res.json()) as Record<string, unknown>);
  };
  const flavor = await cloud.openstackJson<{ id: string }>('ferry-admin', ['flavor', 'create', '--ram', '128', '--disk', '1', '--vcpus', '1', 'q.bench']);
  const server = await cloud.openstackJson<{ id: string }>('ferry-admin', ['server', 'create', '--flavor', flavor.id, '--image', 'cirros', '--availability-zone', 'nova:compute-1', '--wait', 'bench']);
  let host = 'compute-1';
  let lastId = 0;
  await sleep(5000);
  return {
    cloud,
    async migrate() {
      const dest = host === 'compute-1' ? 'compute-2' : 'compute-1';
      const t0 = performance.now();
      await api('POST', `/servers/${server.id}/action`, { 'os-migrateLive': { host: dest, block_migration: 'auto' } });
      for (;;) {
        const list = (await api('GET', `/os-ferry-migrations?instance_uuid=${server.id}`)).migrations as { id: number; status: string; migration_type: string; phase_timings: Record<string, Record<string, unknown>> }[];
        const latest = list.filter((m) => m.migration_type === 'live-migration').sort((a, b) => b.id - a.id)[0];
        if (latest && latest.id > lastId && latest.status === 'completed') {
          // Seen `completed` by a 20 ms poll: at most that late.
          const totalMs = performance.now() - t0;
          host = dest;
          lastId = latest.id;
          const pauseMs = latest.phase_timings.finish_confirm?.guest_paused_ms;
          if (typeof pauseMs !== 'number') throw new Error(`live migration ${latest.id} recorded no guest_paused_ms: ${JSON.stringify(latest.phase_timings)}`);
          return { pauseMs, totalMs };
        }
        if (latest && ['failed', 'error', 'cancelled'].includes(latest.status)) throw new Error(`live migration ${latest.id} ${latest.status}`);
        await sleep(20);
      }
    },
    close: () => cloud.stop(),
  };
}

/** The same guest migrated by QEMU alone. */
async function directMigration(): Promise<Sample> {
  const guest = await ensureTestGuest(TEST_CACHE_DIR);
  const source = await startGuestQemu(guest, { memoryMb: 128 });
  let dest: GuestQemu | undefined;
  try {
    for (let i = 0; !(await source.serial()).some((l) => l.startsWith('ferry-counter 30')); i++) await sleep(100);
    dest = await startGuestQemu(guest, { memoryMb: 128, extraArgs: ['-incoming', 'defer', '-S'] });
    const [src, dst] = [await QmpClient.connect(source.qmpPath), await QmpClient.connect(dest.qmpPath)];
    try {
      const port = await freePort();
      await dst.execute('migrate-incoming', { uri: `tcp:127.0.0.1:${port}` });
      await src.execute('migrate-set-capabilities', { capabilities: [{ capability: 'events', state: true }, { capability: 'auto-converge', state: false }] });
      await src.execute('migrate-set-parameters', { 'downtime-limit': FIRST_DOWNTIME_MS, 'max-bandwidth': 1024 ** 3 });
      const stopped = src.waitForEvent('STOP', 60_000);
      const t0 = performance.now();
      await src.execute('migrate', { uri: `tcp:127.0.0.1:${port}` });
      for (;;) {
        const m = await src.execute<{ status?: string }>('query-migrate');
        if (m.status === 'completed') break;
        if (m.status === 'failed' || m.status === 'cancelled') throw new Error(`direct migration ${m.status}`);
        await sleep(20);
      }
      for (;;) {
        const s = await dst.execute<{ status: string }>('query-status');
        if (s.status !== 'inmigrate') break;
        await sleep(5);
      }
      const resumed = dst.waitForEvent('RESUME', 10_000);
      await dst.execute('cont');
      const [stop, resume]: QmpEvent[] = [await stopped, await resumed];
      return { pauseMs: resume.at - stop.at, totalMs: performance.now() - t0 };
    } finally {
      await src.close();
      await dst.close();
    }
  } finally {
    await source.stop();
    await dest?.stop();
  }
}

/** One cold move of a guest whose disk holds 256 MiB, two-pass or stop-then-copy; the downtime in ms. */
async function coldMove(twoPass: boolean): Promise<number> {
  const stateDir = await mkdtemp(join(tmpdir(), 'ferry-qb-'));
  const [a, b] = ['qa', 'qb'].map((host) => new QemuDriver({ host, stateDir, vcpus: 2, memoryMb: 4096, diskGb: 50, cacheDir: TEST_CACHE_DIR }));
  try {
    await a!.init();
    await b!.init();
    const spec: VmSpec = { uuid: crypto.randomUUID(), name: 'bench', image_ref: 'cirros', flavor: { id: 1, flavorid: '1', name: 'q', vcpus: 1, memory_mb: 128, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} } };
    await a!.spawn(spec);
    await qemuIo(a!, spec.uuid, 'write -P 0x5a 0 256M');
    const target = await b!.prepareIncoming(spec.uuid);
    let t0: number;
    if (twoPass) {
      const tracker = await a!.trackDirtyRegions(spec.uuid);
      await copyFile(a!.diskPath(spec.uuid), target);
      await qemuIo(a!, spec.uuid, 'write -P 0x6b 300M 4M');
      t0 = performance.now();
      await a!.powerOff(spec.uuid);
      tracker.stop();
      for (const f of await a!.pendingDiskFiles(spec.uuid)) await copyFile(f, join(dirname(target), basename(f)));
    } else {
      t0 = performance.now();
      await a!.powerOff(spec.uuid);
      await copyFile(a!.diskPath(spec.uuid), target);
    }
    await b!.finishIncoming(spec, { powerOn: false });
    return performance.now() - t0;
  } finally {
    for (const d of [a!, b!]) for (const uuid of await d.listHeldInstances()) await d.destroy(uuid).catch(() => undefined);
    await rm(stateDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const ferry = await ferrySide();
  const through: Sample[] = [];
  const direct: Sample[] = [];
  const twoPass: number[] = [];
  const stopCopy: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      through.push(await ferry.migrate());
      direct.push(await directMigration());
      twoPass.push(await coldMove(true));
      stopCopy.push(await coldMove(false));
      process.stderr.write(`run ${i + 1}/${RUNS}: ferry pause ${through.at(-1)!.pauseMs.toFixed(1)} ms total ${through.at(-1)!.totalMs.toFixed(0)} ms; direct pause ${direct.at(-1)!.pauseMs.toFixed(1)} ms total ${direct.at(-1)!.totalMs.toFixed(0)} ms; cold two-pass ${twoPass.at(-1)!.toFixed(0)} ms, stop-copy ${stopCopy.at(-1)!.toFixed(0)} ms\n`);
    }
  } finally {
    await ferry.close();
  }
  const row = (what: string, a: number[], b: number[]) =>
    `| ${what} | ${median(a).toFixed(1)} (${spread(a)}) | ${median(b).toFixed(1)} (${spread(b)}) | ${(median(a) / median(b)).toFixed(2)} |\n`;
  process.stdout.write(`qemu ${RUNS} runs each, interleaved (TCG, 128 MiB idle guest, loopback)\n`);
  process.stdout.write('| measure (ms) | Ferry / two-pass: median (spread) | direct QEMU / stop-then-copy: median (spread) | ratio |\n|---|---|---|---|\n');
  process.stdout.write(row('live: guest pause (STOP → RESUME)', through.map((s) => s.pauseMs), direct.map((s) => s.pauseMs)));
  process.stdout.write(row('live: total (API call → completed; migrate → running)', through.map((s) => s.totalMs), direct.map((s) => s.totalMs)));
  process.stdout.write(row('cold: downtime, 256 MiB on disk', twoPass, stopCopy));
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
