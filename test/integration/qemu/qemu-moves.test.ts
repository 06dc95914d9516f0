// The qemu driver moving real guests between two hosts on this machine: live migration with the disks mirrored over
// NBD (no shared storage) and on shared storage, an abort, and a cold move in two passes over a qcow2 snapshot. Each
// guest writes a pattern on its disk before the move (through QEMU's block layer) and the destination reads it back;
// the guest's console counter continuing on the destination proves the same guest kept running.
// Guests are idle (TCG's QEMU 7.2 corrupts a guest that writes memory fast during live migration; see REFERENCE.md).
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { POWER_STATES } from '@ferry/common/domain';
import { COUNTER_LINE, QemuDriver, QmpClient, type LiveMigrationOptions, type QemuDriverOptions, type VmSpec } from '@ferry/compute/drivers';
import { qemuIo, TEST_CACHE_DIR } from '../../support/qemu';
import { vmSpec } from '../compute/driver-conformance';

jest.setTimeout(180_000);

const MIB = 1024 * 1024;
const run = promisify(execFile);

function guestSpec(): VmSpec {
  const spec = vmSpec();
  return { ...spec, flavor: { ...spec.flavor, memory_mb: 128 } };
}

function hostOn(stateDir: string, host: string, o: Partial<QemuDriverOptions> = {}): QemuDriver {
  return new QemuDriver({ host, stateDir, vcpus: 2, memoryMb: 4096, diskGb: 50, cacheDir: TEST_CACHE_DIR, migrationPollMs: 50, ...o });
}

async function counters(driver: QemuDriver, uuid: string): Promise<number[]> {
  return (await readFile(driver.consoleLog(uuid), 'utf8').catch(() => '')).split('\n').flatMap((l) => {
    const m = COUNTER_LINE.exec(l);
    return m ? [Number(m[1])] : [];
  });
}

async function countedTo(driver: QemuDriver, uuid: string, n: number): Promise<number[]> {
  const deadline = Date.now() + 60_000;
  while ((await counters(driver, uuid)).length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return counters(driver, uuid);
}

/** Checks, with the VM shut off (its QEMU has flushed everything), that its disk holds pattern over the range. */
async function expectPattern(driver: QemuDriver, uuid: string, pattern: number, offset: number, length: number): Promise<void> {
  const { stdout } = await run('qemu-io', ['-r', '-f', 'qcow2', '-c', `read -P 0x${pattern.toString(16)} ${offset} ${length}`, driver.diskPath(uuid)]);
  expect(stdout).not.toMatch(/Pattern verification failed|error/i);
  expect(stdout).toMatch(new RegExp(`read ${length}/${length} bytes`));
}

const live = (destHost: string, o: Partial<LiveMigrationOptions> = {}): LiveMigrationOptions => ({
  destHost, blockMigration: true, maxDowntimeMs: 300, autoConverge: false, postCopyAllowed: false, ...o,
});

describe('qemu driver: moves between hosts', () => {
  let stateDir: string;
  let drivers: QemuDriver[];

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'ferry-qm-'));
    drivers = [];
  });
  afterEach(async () => {
    for (const d of drivers) for (const uuid of await d.listHeldInstances()) await d.destroy(uuid).catch(() => undefined);
    await rm(stateDir, { recursive: true, force: true });
  });

  const open = async (host: string, o: Partial<QemuDriverOptions> = {}) => {
    const d = hostOn(stateDir, host, o);
    await d.init();
    drivers.push(d);
    return d;
  };

  /** Two hosts whose instances directories are one directory (shared storage). */
  const sharedPair = async () => {
    const shared = join(stateDir, 'shared-instances');
    await mkdir(shared, { recursive: true });
    for (const host of ['sa', 'sb']) {
      await mkdir(join(stateDir, 'hosts', host), { recursive: true });
      await symlink(shared, join(stateDir, 'hosts', host, 'instances'));
    }
    return [await open('sa'), await open('sb')] as const;
  };

  async function liveMigrate(source: QemuDriver, dest: QemuDriver, spec: VmSpec, o: LiveMigrationOptions) {
    const begun = await source.liveMigrationBegin(spec.uuid, o);
    const prepared = await dest.liveMigrationPrepare(spec, begun, { blockMigration: o.blockMigration });
    expect(await dest.guestPresence(spec.uuid)).toBe('incoming');
    const job = await source.liveMigrationPerform(spec.uuid, prepared, o);
    const cookie = await job.done;
    const finished = await dest.liveMigrationFinish(spec.uuid, cookie, { success: true, paused: false });
    await source.liveMigrationConfirm(spec.uuid, finished, { success: true, paused: false });
    return { stats: job.stats(), finished };
  }

  it('block-migrates a running guest: disk data and counter carry on at the destination, nothing is left at the source', async () => {
    const [a, b] = [await open('qa'), await open('qb')];
    const spec = guestSpec();
    await a.spawn(spec);
    await countedTo(a, spec.uuid, 5);
    await qemuIo(a, spec.uuid, 'write -P 0x5a 1M 4M');
    const before = await counters(a, spec.uuid);

    const { stats, finished } = await liveMigrate(a, b, spec, live('qb'));

    expect(stats).toMatchObject({ phase: 'completed', memory_remaining: 0 });
    expect(stats.memory_total).toBeGreaterThanOrEqual(128 * MIB);
    expect(stats.disk_total).toBeGreaterThan(0);
    expect(stats.disk_processed).toBe(stats.disk_total);
    expect(finished.downtime_ms).toEqual(expect.any(Number));
    expect(finished.downtime_ms as number).toBeGreaterThan(0);
    expect(finished.downtime_ms as number).toBeLessThan(5000);
    expect(await a.getVm(spec.uuid)).toBeUndefined();
    expect(await a.listHeldInstances()).not.toContain(spec.uuid);
    expect(await b.getVm(spec.uuid)).toMatchObject({ power_state: POWER_STATES.RUNNING, memory_mb: 128 });
    // The destination's console starts mid-count: the guest was never rebooted.
    const after = await countedTo(b, spec.uuid, 3);
    expect(after[0]).toBeGreaterThanOrEqual(before.at(-1)!);
    expect(after).toEqual(after.map((_, i) => after[0]! + i));
    await b.powerOff(spec.uuid);
    await expectPattern(b, spec.uuid, 0x5a, MIB, 4 * MIB);
  });

  it('live-migrates on shared storage without copying the disk, and leaves the disk for the destination', async () => {
    const [a, b] = await sharedPair();
    const spec = guestSpec();
    await a.spawn(spec);
    await countedTo(a, spec.uuid, 3);
    await qemuIo(a, spec.uuid, 'write -P 0x3c 0 2M');
    await expect(b.liveMigrationPrepare(spec, await a.liveMigrationBegin(spec.uuid, live('sb')), { blockMigration: true })).rejects.toThrow(/shares the instance's storage/);

    const { stats } = await liveMigrate(a, b, spec, live('sb', { blockMigration: false }));

    expect(stats.disk_total).toBe(0);
    expect(await a.getVm(spec.uuid)).toBeUndefined();
    // The files are the destination's now: the source neither lists them nor removes them, even when told to destroy.
    expect(await a.listHeldInstances()).not.toContain(spec.uuid);
    await a.destroy(spec.uuid);
    await a.liveMigrationConfirm(spec.uuid, {}, { success: true, paused: false });
    expect(await b.listHeldInstances()).toContain(spec.uuid);
    expect(await b.getVm(spec.uuid)).toMatchObject({ power_state: POWER_STATES.RUNNING });
    expect(await countedTo(b, spec.uuid, 2)).not.toContain(0);
    await b.powerOff(spec.uuid);
    await expectPattern(b, spec.uuid, 0x3c, 0, 2 * MIB);
  });

  it('an aborted migration leaves the guest running at the source; Finish(failure) removes the incoming VM', async () => {
    // 1 MiB/s: the transfer of 128 MiB cannot end before the abort.
    const [a, b] = [await open('qa', { migrationBandwidth: MIB }), await open('qb')];
    const spec = guestSpec();
    await a.spawn(spec);
    await countedTo(a, spec.uuid, 2);
    const o = live('qb', { blockMigration: true });
    const prepared = await b.liveMigrationPrepare(spec, await a.liveMigrationBegin(spec.uuid, o), { blockMigration: true });
    const job = await a.liveMigrationPerform(spec.uuid, prepared, o);
    await new Promise((r) => setTimeout(r, 500));
    expect(job.stats().phase).toBe('running');
    job.abort();
    await expect(job.done).rejects.toMatchObject({ code: 'LiveMigrationCancelled' });
    await a.liveMigrationConfirm(spec.uuid, {}, { success: false, paused: false });
    await b.liveMigrationFinish(spec.uuid, {}, { success: false, paused: false });
    await b.liveMigrationFinish(spec.uuid, {}, { success: false, paused: false });
    expect(await b.guestPresence(spec.uuid)).toBe('absent');
    expect(await b.listHeldInstances()).not.toContain(spec.uuid);
    expect(await a.getVm(spec.uuid)).toMatchObject({ power_state: POWER_STATES.RUNNING });
    const n = (await counters(a, spec.uuid)).length;
    expect((await countedTo(a, spec.uuid, n + 3)).length).toBeGreaterThanOrEqual(n + 3);
  });

  it('force-complete without post-copy pauses the guest so the transfer converges; it runs on at the destination', async () => {
    // 16 MiB/s: pre-copy alone would take seconds, so the force comes while it runs.
    const [a, b] = [await open('qa', { migrationBandwidth: 16 * MIB }), await open('qb')];
    const spec = guestSpec();
    await a.spawn(spec);
    await countedTo(a, spec.uuid, 3);
    const o = live('qb');
    const prepared = await b.liveMigrationPrepare(spec, await a.liveMigrationBegin(spec.uuid, o), { blockMigration: true });
    const job = await a.liveMigrationPerform(spec.uuid, prepared, o);
    await new Promise((r) => setTimeout(r, 300));
    job.forceComplete();
    expect(job.stats().paused).toBe(true);
    const cookie = await job.done;
    expect(await a.getVm(spec.uuid)).toMatchObject({ power_state: POWER_STATES.PAUSED });
    await b.liveMigrationFinish(spec.uuid, cookie, { success: true, paused: false });
    await a.liveMigrationConfirm(spec.uuid, {}, { success: true, paused: false });
    expect(await b.getVm(spec.uuid)).toMatchObject({ power_state: POWER_STATES.RUNNING });
    expect(await countedTo(b, spec.uuid, 2)).not.toContain(0);
  });

  it('a destination QEMU that dies mid-transfer fails the job; the source runs on and the incoming VM is removed', async () => {
    const [a, b] = [await open('qa', { migrationBandwidth: MIB }), await open('qb')];
    const spec = guestSpec();
    await a.spawn(spec);
    await countedTo(a, spec.uuid, 2);
    const o = live('qb');
    const prepared = await b.liveMigrationPrepare(spec, await a.liveMigrationBegin(spec.uuid, o), { blockMigration: true });
    const job = await a.liveMigrationPerform(spec.uuid, prepared, o);
    await new Promise((r) => setTimeout(r, 500));
    process.kill(Number((await readFile(b.pidfile(spec.uuid), 'utf8')).trim()), 'SIGKILL');
    await expect(job.done).rejects.toThrow(/failed|ended before it was in sync/);
    expect(job.stats().phase).toBe('failed');
    await expect(b.liveMigrationFinish(spec.uuid, {}, { success: true, paused: false })).rejects.toThrow(/has exited/);
    expect(await b.guestPresence(spec.uuid)).toBe('incoming');
    await b.liveMigrationFinish(spec.uuid, {}, { success: false, paused: false });
    await a.liveMigrationConfirm(spec.uuid, {}, { success: false, paused: false });
    expect(await b.guestPresence(spec.uuid)).toBe('absent');
    expect(await a.getVm(spec.uuid)).toMatchObject({ power_state: POWER_STATES.RUNNING });
    const n = (await counters(a, spec.uuid)).length;
    expect((await countedTo(a, spec.uuid, n + 2)).length).toBeGreaterThanOrEqual(n + 2);
  });

  it('moves a disk cold in two passes: the snapshot overlay carries what the guest wrote during pass 1', async () => {
    const [a, b] = [await open('qa'), await open('qb')];
    const spec = guestSpec();
    await a.spawn(spec);
    await qemuIo(a, spec.uuid, 'write -P 0x11 0 2M');
    const tracker = await a.trackDirtyRegions(spec.uuid);
    // Pass 1 (the frozen disk) while the guest runs and writes more.
    const target = await b.prepareIncoming(spec.uuid);
    await copyFile(a.diskPath(spec.uuid), target);
    await qemuIo(a, spec.uuid, 'write -P 0x22 8M 1M');
    await a.powerOff(spec.uuid);
    expect(tracker.ranges()).toEqual([]);
    const files = await a.pendingDiskFiles(spec.uuid);
    expect(files.map((f) => basename(f))).toEqual(['disk.pass2']);
    tracker.stop();
    for (const f of files) await copyFile(f, join(dirname(target), basename(f)));
    const bigger = { ...spec, flavor: { ...spec.flavor, root_gb: 2 } };

    await b.finishIncoming(bigger, { powerOn: true });

    expect(await b.getVm(spec.uuid)).toMatchObject({ power_state: POWER_STATES.RUNNING, root_gb: 2 });
    expect(await b.pendingDiskFiles(spec.uuid)).toEqual([]);
    const qmp = await QmpClient.connect(b.qmpPath(spec.uuid));
    try {
      const [root] = await qmp.execute<{ inserted: { image: { 'virtual-size': number } } }[]>('query-block');
      expect(root!.inserted.image['virtual-size']).toBe(2 * 1024 ** 3);
    } finally {
      await qmp.close();
    }
    await b.powerOff(spec.uuid);
    await expectPattern(b, spec.uuid, 0x11, 0, 2 * MIB);
    await expectPattern(b, spec.uuid, 0x22, 8 * MIB, MIB);
  });

  it('a cold move that fails during pass 1 folds the overlay back while the guest runs; nothing it wrote is lost', async () => {
    const a = await open('qa');
    const spec = guestSpec();
    await a.spawn(spec);
    const tracker = await a.trackDirtyRegions(spec.uuid);
    await qemuIo(a, spec.uuid, 'write -P 0x33 4M 1M');
    tracker.stop();
    // The fold runs in the VM's queue: the next operation waits for it.
    await a.powerOff(spec.uuid);
    expect(await a.pendingDiskFiles(spec.uuid)).toEqual([]);
    await expectPattern(a, spec.uuid, 0x33, 4 * MIB, MIB);
    await a.powerOn(spec.uuid);
    expect(await a.getVm(spec.uuid)).toMatchObject({ power_state: POWER_STATES.RUNNING });
  });
});
