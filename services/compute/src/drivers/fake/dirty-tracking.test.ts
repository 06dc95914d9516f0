// The fake driver's simulated guest and dirty trackers: the property a two-pass cold migration relies on.
import { createHash, randomUUID } from 'node:crypto';
import { copyFile, mkdtemp, open, readdir, readFile, readlink, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { totalLength, type ByteRange } from '../../transfer/byte-ranges';
import { POWER_STATES } from '@ferry/common/domain';
import type { VmSpec } from '../driver';
import { VmNotFound } from '../errors';
import { FakeDriver, type FakeDriverOptions } from './fake-driver';
import type { FakeDirtyTracker } from './simulated-guest';

const MIB = 1024 * 1024;
const BLOCK = 64 * 1024;
const DISK_SIZE = 8 * MIB;
const FLAVOR = { id: 1, flavorid: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 512, root_gb: 0, ephemeral_gb: 0, swap: 0, extra_specs: {} };

async function sha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

/** Copies src to dst in small chunks with pauses between them, so the guest writes while the copy runs. */
async function slowCopy(src: string, dst: string, chunk = 256 * 1024): Promise<void> {
  const [from, to] = [await open(src, 'r'), await open(dst, 'w')];
  try {
    const buf = Buffer.alloc(chunk);
    for (let at = 0; ; at += chunk) {
      const { bytesRead } = await from.read(buf, 0, chunk, at);
      if (bytesRead === 0) return;
      await to.write(buf, 0, bytesRead, at);
      await sleep(3);
    }
  } finally {
    await Promise.all([from.close(), to.close()]);
  }
}

/** Copies the ranges of src over dst: the second pass of a migration. */
async function patch(src: string, dst: string, ranges: ByteRange[]): Promise<void> {
  const [from, to] = [await open(src, 'r'), await open(dst, 'r+')];
  try {
    for (const r of ranges) {
      const buf = Buffer.alloc(r.length);
      await from.read(buf, 0, r.length, r.offset);
      await to.write(buf, 0, r.length, r.offset);
    }
  } finally {
    await Promise.all([from.close(), to.close()]);
  }
}

/** Whether this process holds a descriptor open on path (Linux). */
async function holdsOpen(path: string): Promise<boolean> {
  const fds = await readdir('/proc/self/fd');
  const targets = await Promise.all(fds.map((fd) => readlink(join('/proc/self/fd', fd)).catch(() => '')));
  return targets.includes(path);
}

async function until(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(10);
  }
}

describe('fake driver: simulated guest and dirty tracking', () => {
  let stateDir: string;
  let trackers: FakeDirtyTracker[];

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'ferry-fake-dirty-'));
    trackers = [];
  });
  afterEach(async () => {
    await Promise.all(trackers.map((t) => t.close()));
    await rm(stateDir, { recursive: true, force: true });
  });

  async function makeDriver(opts: Partial<FakeDriverOptions> = {}): Promise<FakeDriver> {
    const driver = new FakeDriver({ host: 'fake-1', stateDir, vcpus: 4, memoryMb: 8192, diskGb: 100, guestWriteRate: 32 * MIB, ...opts });
    await driver.init();
    return driver;
  }

  /** A running VM with a small disk, so tests can read it whole. */
  async function spawnSmall(driver: FakeDriver): Promise<VmSpec> {
    const spec: VmSpec = { uuid: randomUUID(), name: 'vm', flavor: FLAVOR, image_ref: 'cirros' };
    await driver.spawn(spec);
    await truncate(driver.diskPath(spec.uuid), DISK_SIZE);
    return spec;
  }

  async function track(driver: FakeDriver, uuid: string): Promise<FakeDirtyTracker> {
    const tracker = await driver.trackDirtyRegions(uuid);
    trackers.push(tracker);
    return tracker;
  }

  it('records the block-aligned regions the guest writes, within the disk, with data that is not zeros', async () => {
    const driver = await makeDriver();
    const { uuid } = await spawnSmall(driver);
    const tracker = await track(driver, uuid);
    await until(() => tracker.bytesWritten >= 4 * BLOCK);
    await driver.powerOff(uuid);
    const ranges = tracker.ranges();
    expect(ranges.length).toBeGreaterThan(0);
    for (const r of ranges) {
      expect(r.offset % BLOCK).toBe(0);
      expect(r.length % BLOCK).toBe(0);
      expect(r.offset + r.length).toBeLessThanOrEqual(DISK_SIZE);
    }
    const disk = await readFile(driver.diskPath(uuid));
    expect(disk.length).toBe(DISK_SIZE);
    expect(disk.subarray(ranges[0].offset, ranges[0].offset + BLOCK).some((b) => b !== 0)).toBe(true);
  });

  it('a suspended guest writes nothing until it resumes, and then writes on', async () => {
    const driver = await makeDriver();
    const { uuid } = await spawnSmall(driver);
    const tracker = await track(driver, uuid);
    await until(() => tracker.bytesWritten >= 2 * BLOCK);
    await driver.suspend(uuid);
    const atSuspend = tracker.bytesWritten;
    await sleep(150);
    expect(tracker.bytesWritten).toBe(atSuspend);
    await driver.resume(uuid);
    await until(() => tracker.bytesWritten >= atSuspend + 2 * BLOCK);
    expect((await driver.getVm(uuid))?.power_state).toBe(POWER_STATES.RUNNING);
  });

  it('a snapshot taken while the guest writes, patched with the ranges read after powerOff, equals the disk', async () => {
    const driver = await makeDriver();
    const { uuid } = await spawnSmall(driver);
    const disk = driver.diskPath(uuid);
    const snapshot = join(stateDir, 'snapshot');
    const tracker = await track(driver, uuid);
    await sleep(30);
    await slowCopy(disk, snapshot);
    await sleep(30);
    await driver.powerOff(uuid);
    const ranges = tracker.ranges();
    expect(await sha256(snapshot)).not.toBe(await sha256(disk));
    await patch(disk, snapshot, ranges);
    expect(await sha256(snapshot)).toBe(await sha256(disk));
    expect(totalLength(ranges)).toBeLessThan(DISK_SIZE);
  });

  it('the property holds with fs.copyFile as the first pass, too', async () => {
    const driver = await makeDriver();
    const { uuid } = await spawnSmall(driver);
    const snapshot = join(stateDir, 'snapshot');
    const tracker = await track(driver, uuid);
    await sleep(20);
    await copyFile(driver.diskPath(uuid), snapshot);
    await sleep(40);
    await driver.powerOff(uuid);
    await patch(driver.diskPath(uuid), snapshot, tracker.ranges());
    expect(await sha256(snapshot)).toBe(await sha256(driver.diskPath(uuid)));
  });

  it('writes nothing once powerOff or pause resolved, and again once the VM runs', async () => {
    const driver = await makeDriver();
    const { uuid } = await spawnSmall(driver);
    const tracker = await track(driver, uuid);
    for (const [stop, start] of [[() => driver.powerOff(uuid), () => driver.powerOn(uuid)], [() => driver.pause(uuid), () => driver.unpause(uuid)]]) {
      await until(() => tracker.bytesWritten > 0);
      await stop();
      const [hash, written] = [await sha256(driver.diskPath(uuid)), tracker.bytesWritten];
      await sleep(120);
      expect(await sha256(driver.diskPath(uuid))).toBe(hash);
      expect(tracker.bytesWritten).toBe(written);
      await start();
      await until(() => tracker.bytesWritten > written);
    }
  });

  it('writes nothing after stop(), and closes the disk', async () => {
    const driver = await makeDriver();
    const { uuid } = await spawnSmall(driver);
    const disk = driver.diskPath(uuid);
    const tracker = await track(driver, uuid);
    await until(() => tracker.bytesWritten > 0);
    expect(await holdsOpen(disk)).toBe(true);
    tracker.stop();
    const written = tracker.bytesWritten;
    await tracker.close();
    const hash = await sha256(disk);
    await sleep(120);
    expect(await sha256(disk)).toBe(hash);
    expect(tracker.bytesWritten).toBe(written);
    expect(await holdsOpen(disk)).toBe(false);
    tracker.stop();
  });

  it('destroying a tracked VM stops its guest before removing it', async () => {
    const driver = await makeDriver();
    const { uuid } = await spawnSmall(driver);
    const disk = driver.diskPath(uuid);
    const tracker = await track(driver, uuid);
    await until(() => tracker.bytesWritten > 0);
    await driver.destroy(uuid);
    expect(await holdsOpen(disk)).toBe(false);
    expect(await driver.getVm(uuid)).toBeUndefined();
    expect(tracker.ranges().length).toBeGreaterThan(0);
  });

  it('caps the bytes written per tracking session at guestWriteLimit', async () => {
    const limit = 3 * BLOCK + 1000;
    const driver = await makeDriver({ guestWriteRate: 64 * MIB, guestWriteLimit: limit });
    const { uuid } = await spawnSmall(driver);
    const tracker = await track(driver, uuid);
    await until(() => tracker.bytesWritten === limit);
    await sleep(100);
    expect(tracker.bytesWritten).toBe(limit);
    expect(totalLength(tracker.ranges())).toBeLessThanOrEqual(limit);
  });

  it('writes at roughly guestWriteRate, in blocks of guestWriteBlockSize', async () => {
    const driver = await makeDriver({ guestWriteRate: 8 * MIB, guestWriteBlockSize: 4096 });
    const { uuid } = await spawnSmall(driver);
    const started = performance.now();
    const tracker = await track(driver, uuid);
    await sleep(500);
    await driver.powerOff(uuid);
    // Judged against the time that really passed, so a loaded machine neither fails nor hides it: never ahead of the
    // rate (one block of slack), and not far behind it (the guest catches up on a stall of up to 0.25 s).
    const allowed = (8 * MIB * (performance.now() - started)) / 1000;
    expect(tracker.bytesWritten).toBeLessThanOrEqual(allowed + 4096);
    expect(tracker.bytesWritten).toBeGreaterThan(0.3 * allowed);
    expect(tracker.ranges().every((r) => r.offset % 4096 === 0)).toBe(true);
  });

  it('an idle guest (the default) or a shut-down VM writes nothing', async () => {
    const idle = await makeDriver({ guestWriteRate: undefined });
    const a = await spawnSmall(idle);
    const busy = await makeDriver();
    const b = await spawnSmall(busy);
    await busy.powerOff(b.uuid);
    const [ta, tb] = [await track(idle, a.uuid), await track(busy, b.uuid)];
    await sleep(100);
    expect([ta.ranges(), tb.ranges(), ta.bytesWritten, tb.bytesWritten]).toEqual([[], [], 0, 0]);
  });

  it('tracks only a VM the host has: not an arriving disk, not an unknown uuid', async () => {
    const driver = await makeDriver();
    const uuid = randomUUID();
    await expect(driver.trackDirtyRegions(uuid)).rejects.toThrow(VmNotFound);
    await writeFile(await driver.prepareIncoming(uuid), Buffer.alloc(BLOCK, 1));
    await expect(driver.trackDirtyRegions(uuid)).rejects.toThrow(VmNotFound);
  });

  it('rejects nonsense write options', () => {
    const base = { host: 'h', stateDir, vcpus: 1, memoryMb: 1, diskGb: 1 };
    expect(() => new FakeDriver({ ...base, guestWriteRate: -1 })).toThrow(/guestWriteRate/);
    expect(() => new FakeDriver({ ...base, guestWriteBlockSize: 0 })).toThrow(/guestWriteBlockSize/);
    expect(() => new FakeDriver({ ...base, guestWriteLimit: -5 })).toThrow(/guestWriteLimit/);
  });
});
