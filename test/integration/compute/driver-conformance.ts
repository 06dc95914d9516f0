// The behaviour every hypervisor driver must show, as one suite each driver runs (fake now, qemu later).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { open, rm, stat, writeFile } from 'node:fs/promises';
import type { InstanceFlavor } from '@ferry/common/db';
import { POWER_STATES } from '@ferry/common/domain';
import { DiskNotFound, VmInvalidState, VmNotFound, type Driver, type GuestDriver, type LiveMigrationOptions, type VmSpec } from '@ferry/compute/drivers';

export interface DriverHarness<D extends GuestDriver = Driver> {
  driver: D;
  /** A new driver over the same host (what a restarted compute gets). */
  reopen(): Promise<D>;
  /**
   * The driver of a second host that `driver` can live-migrate to (its host name is `peerHost`); cleaned up by
   * cleanup(). Absent: the live-migration cases are skipped.
   */
  peer?: { host: string; open(): Promise<D>; /** Live migrations to the peer copy the disks (it shares no storage with `driver`). */ blockMigration?: boolean };
  /** Takes the VM's definition away behind the driver's back, its disk left in place (an operator's `virsh undefine`). */
  undefine(uuid: string): Promise<void>;
  /** How the driver's disks hold bytes (default: a raw file, byte for byte). */
  disks?: DiskFormat;
  cleanup(): Promise<void>;
}

/** A driver's disk format, as the moves' cases write and read disks arriving from another host. */
export interface DiskFormat {
  /** Writes a disk of this format at path whose guest-visible content is bytes (a disk copied in from another host). */
  write(path: string, bytes: Buffer): Promise<void>;
  /** sha256 of the first length bytes the guest sees on the disk at path. */
  headSha256(path: string, length: number): Promise<string>;
  /** The disk's size as the guest sees it. */
  virtualSize(path: string): Promise<number>;
  /**
   * Where a tracked disk's later writes go: `ranges` (the tracker lists them, the disk is one file) or `overlay` (a
   * snapshot freezes the disk and pendingDiskFiles names the file that takes them; the tracker's ranges stay empty).
   */
  writesWhileTracked: 'ranges' | 'overlay';
}

export const RAW_DISKS: DiskFormat = {
  write: (path, bytes) => writeFile(path, bytes),
  headSha256,
  virtualSize: async (path) => (await stat(path)).size,
  writesWhileTracked: 'ranges',
};

export const CONFORMANCE_FLAVOR: InstanceFlavor = {
  id: 1, flavorid: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 512, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {},
};

export function vmSpec(flavor: InstanceFlavor = CONFORMANCE_FLAVOR): VmSpec {
  return { uuid: randomUUID(), name: 'conformance', flavor, image_ref: 'cirros' };
}

/** sha256 of the first `length` bytes of the file at path. */
async function headSha256(path: string, length: number): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buf, 0, length, 0);
    return createHash('sha256').update(buf.subarray(0, bytesRead)).digest('hex');
  } finally {
    await handle.close();
  }
}

/** Whether ranges are in the normalized form: sorted, neither overlapping nor touching, none empty. */
function isNormalized(ranges: readonly { offset: number; length: number }[]): boolean {
  return ranges.every((r, i) => r.length > 0 && r.offset >= 0 && (i === 0 || r.offset > ranges[i - 1].offset + ranges[i - 1].length));
}

/** What every driver does with its guests: host facts, power operations, listing, redefinition. */
export function guestConformance<D extends GuestDriver>(name: string, makeHarness: () => Promise<DriverHarness<D>>, opts: { timeoutMs?: number } = {}): void {
  describe(`driver conformance: ${name}`, () => {
    let h: DriverHarness<D>;
    let driver: D;
    const powerOf = async (uuid: string) => (await driver.getVm(uuid))?.power_state;

    beforeEach(async () => {
      h = await makeHarness();
      driver = h.driver;
      await driver.init();
    }, opts.timeoutMs);
    afterEach(async () => {
      await h?.cleanup();
    }, opts.timeoutMs);

    it('reports the host it runs on', async () => {
      const info = await driver.hostInfo();
      expect(info.hypervisor_hostname).toBeTruthy();
      expect(info.hypervisor_type.toLowerCase()).toBe(driver.type);
      expect(info.vcpus).toBeGreaterThan(0);
      expect(info.memory_mb).toBeGreaterThan(0);
      expect(info.local_gb).toBeGreaterThan(0);
      expect(info.storage_id).toBeTruthy();
    });

    it('spawns a running VM, and spawning it again changes nothing', async () => {
      const spec = vmSpec();
      await driver.spawn(spec);
      await driver.spawn(spec);
      expect(await driver.getVm(spec.uuid)).toMatchObject({ uuid: spec.uuid, power_state: POWER_STATES.RUNNING, vcpus: 1, memory_mb: 512, root_gb: 1 });
      expect((await driver.listVms()).filter((v) => v.uuid === spec.uuid)).toHaveLength(1);
    }, opts.timeoutMs);

    it('powers off and on, each idempotent', async () => {
      const { uuid } = vmSpec();
      await driver.spawn({ ...vmSpec(), uuid });
      await driver.powerOff(uuid);
      await driver.powerOff(uuid);
      expect(await powerOf(uuid)).toBe(POWER_STATES.SHUTDOWN);
      await driver.powerOn(uuid);
      await driver.powerOn(uuid);
      expect(await powerOf(uuid)).toBe(POWER_STATES.RUNNING);
    }, opts.timeoutMs);

    it('reboots soft and hard into a running VM, even from shut down', async () => {
      const spec = vmSpec();
      await driver.spawn(spec);
      await driver.reboot(spec.uuid, 'SOFT');
      expect(await powerOf(spec.uuid)).toBe(POWER_STATES.RUNNING);
      await driver.powerOff(spec.uuid);
      await driver.reboot(spec.uuid, 'HARD');
      expect(await powerOf(spec.uuid)).toBe(POWER_STATES.RUNNING);
    }, opts.timeoutMs);

    it('pauses and unpauses, each idempotent; a shut-down VM cannot be paused', async () => {
      const spec = vmSpec();
      await driver.spawn(spec);
      await driver.pause(spec.uuid);
      await driver.pause(spec.uuid);
      expect(await powerOf(spec.uuid)).toBe(POWER_STATES.PAUSED);
      await driver.unpause(spec.uuid);
      await driver.unpause(spec.uuid);
      expect(await powerOf(spec.uuid)).toBe(POWER_STATES.RUNNING);
      await driver.powerOff(spec.uuid);
      await expect(driver.pause(spec.uuid)).rejects.toBeInstanceOf(VmInvalidState);
    }, opts.timeoutMs);

    it('suspends and resumes, each idempotent, keeping the boot; only a running VM suspends', async () => {
      const spec = vmSpec();
      await driver.spawn(spec);
      await driver.suspend(spec.uuid);
      await driver.suspend(spec.uuid);
      expect(await powerOf(spec.uuid)).toBe(POWER_STATES.SUSPENDED);
      expect((await driver.listVms()).find((v) => v.uuid === spec.uuid)?.power_state).toBe(POWER_STATES.SUSPENDED);
      await expect(driver.pause(spec.uuid)).rejects.toBeInstanceOf(VmInvalidState);
      await driver.resume(spec.uuid);
      await driver.resume(spec.uuid);
      expect(await powerOf(spec.uuid)).toBe(POWER_STATES.RUNNING);
      await driver.powerOff(spec.uuid);
      await expect(driver.suspend(spec.uuid)).rejects.toBeInstanceOf(VmInvalidState);
      await expect(driver.resume(spec.uuid)).rejects.toBeInstanceOf(VmInvalidState);
    }, opts.timeoutMs);

    it('rescues into a running VM and unrescues back, each idempotent; an unknown VM is refused', async () => {
      const spec = vmSpec();
      await driver.spawn(spec);
      await driver.rescue(spec, 'rescue-image');
      await driver.rescue(spec, 'rescue-image');
      expect(await powerOf(spec.uuid)).toBe(POWER_STATES.RUNNING);
      await driver.unrescue(spec);
      await driver.unrescue(spec);
      expect(await driver.getVm(spec.uuid)).toMatchObject({ power_state: POWER_STATES.RUNNING, vcpus: spec.flavor.vcpus, memory_mb: spec.flavor.memory_mb });
      const unknown = vmSpec();
      await expect(driver.rescue(unknown, 'rescue-image')).rejects.toBeInstanceOf(VmNotFound);
      await expect(driver.unrescue(unknown)).rejects.toBeInstanceOf(VmNotFound);
    }, opts.timeoutMs);

    it("reports the host's uptime line as Linux prints it", async () => {
      expect(await driver.hostUptime()).toMatch(/^ \d\d:\d\d:\d\d up .+, +\d+ users?, {2}load average: \d+\.\d\d, \d+\.\d\d, \d+\.\d\d$/);
    }, opts.timeoutMs);

    it('destroys a VM (and a VM that is not there without error)', async () => {
      const spec = vmSpec();
      await driver.spawn(spec);
      await driver.destroy(spec.uuid);
      await driver.destroy(spec.uuid);
      expect(await driver.getVm(spec.uuid)).toBeUndefined();
      expect((await driver.listVms()).map((v) => v.uuid)).not.toContain(spec.uuid);
    }, opts.timeoutMs);

    it('refuses power operations on a VM it does not have', async () => {
      const uuid = randomUUID();
      for (const op of [() => driver.powerOff(uuid), () => driver.powerOn(uuid), () => driver.reboot(uuid, 'HARD'), () => driver.pause(uuid), () => driver.unpause(uuid),
        () => driver.suspend(uuid), () => driver.resume(uuid)]) {
        await expect(op()).rejects.toBeInstanceOf(VmNotFound);
      }
      expect(await driver.getVm(uuid)).toBeUndefined();
    }, opts.timeoutMs);

    it('redefines a VM whose definition was lost over the disk it left, shut off and bootable, bytes intact', async () => {
      const spec = vmSpec();
      await driver.spawn(spec);
      const disk = driver.diskPath(spec.uuid);
      const handle = await open(disk, 'r+');
      await handle.write(Buffer.from('data the guest wrote'), 0, undefined, 4096);
      await handle.close();
      const before = await headSha256(disk, 8192);
      await driver.powerOff(spec.uuid);
      await h.undefine(spec.uuid);
      expect(await driver.getVm(spec.uuid)).toBeUndefined();
      await expect(driver.powerOn(spec.uuid)).rejects.toBeInstanceOf(VmNotFound);

      await driver.redefine(spec);
      expect(await powerOf(spec.uuid)).toBe(POWER_STATES.SHUTDOWN);
      await driver.redefine(spec);
      await driver.powerOn(spec.uuid);
      expect(await powerOf(spec.uuid)).toBe(POWER_STATES.RUNNING);
      expect(await headSha256(disk, 8192)).toBe(before);
      // A VM still defined is left as it is.
      await driver.redefine(spec);
      expect(await powerOf(spec.uuid)).toBe(POWER_STATES.RUNNING);
    }, opts.timeoutMs);

    it('refuses to redefine a VM whose disk is gone, and creates nothing', async () => {
      const spec = vmSpec();
      await driver.spawn(spec);
      await h.undefine(spec.uuid);
      await rm(driver.diskPath(spec.uuid), { force: true });
      await expect(driver.redefine(spec)).rejects.toBeInstanceOf(DiskNotFound);
      expect(await driver.getVm(spec.uuid)).toBeUndefined();
      await expect(stat(driver.diskPath(spec.uuid))).rejects.toMatchObject({ code: 'ENOENT' });
      const never = vmSpec();
      await expect(driver.redefine(never)).rejects.toBeInstanceOf(DiskNotFound);
      expect(await driver.listHeldInstances()).not.toContain(never.uuid);
    }, opts.timeoutMs);

    it('lists every VM with its real state, and a restarted driver still finds them', async () => {
      const [a, b, c] = [vmSpec(), vmSpec(), vmSpec()];
      for (const s of [a, b, c]) await driver.spawn(s);
      await driver.powerOff(b.uuid);
      await driver.pause(c.uuid);
      const expected = new Map([[a.uuid, POWER_STATES.RUNNING], [b.uuid, POWER_STATES.SHUTDOWN], [c.uuid, POWER_STATES.PAUSED]]);
      const seen = (vms: { uuid: string; power_state: number }[]) => new Map(vms.filter((v) => expected.has(v.uuid)).map((v) => [v.uuid, v.power_state]));
      expect(seen(await driver.listVms())).toEqual(expected);
      driver = await h.reopen();
      expect(seen(await driver.listVms())).toEqual(expected);
    }, opts.timeoutMs);

  });
}

/** The whole contract: a driver's guests, and moving them cold and live. */
export function driverConformance(name: string, makeHarness: () => Promise<DriverHarness>, opts: { timeoutMs?: number } = {}): void {
  guestConformance(name, makeHarness, opts);
  describe(`driver conformance: ${name} moves`, () => {
    let h: DriverHarness;
    let driver: Driver;
    const powerOf = async (uuid: string) => (await driver.getVm(uuid))?.power_state;

    beforeEach(async () => {
      h = await makeHarness();
      driver = h.driver;
      await driver.init();
    }, opts.timeoutMs);
    afterEach(async () => {
      await h?.cleanup();
    }, opts.timeoutMs);

    describe('cold migration', () => {
      const disks = () => h.disks ?? RAW_DISKS;
      /** Stands in for the source host: a disk of `size` random bytes copied to where prepareIncoming says. */
      const copyIn = async (uuid: string, size = 1024 * 1024) => {
        const bytes = randomBytes(size);
        await disks().write(await driver.prepareIncoming(uuid), bytes);
        return createHash('sha256').update(bytes).digest('hex');
      };

      it('prepares idempotently a path where finishIncoming finds the disk and boots the VM', async () => {
        const spec = vmSpec();
        const path = await driver.prepareIncoming(spec.uuid);
        expect(await driver.prepareIncoming(spec.uuid)).toBe(path);
        expect(await driver.getVm(spec.uuid)).toBeUndefined();
        await disks().write(path, randomBytes(64 * 1024));
        expect(await driver.getVm(spec.uuid)).toBeUndefined();
        await driver.finishIncoming(spec, { powerOn: true });
        expect(await driver.getVm(spec.uuid)).toMatchObject({ uuid: spec.uuid, power_state: POWER_STATES.RUNNING, vcpus: 1, memory_mb: 512, root_gb: 1 });
        expect((await driver.listVms()).map((v) => v.uuid)).toContain(spec.uuid);
      }, opts.timeoutMs);

      it('grows the disk to root_gb and keeps the bytes copied in', async () => {
        const spec = vmSpec();
        const size = 1024 * 1024;
        const sha = await copyIn(spec.uuid, size);
        await driver.finishIncoming(spec, { powerOn: true });
        expect(await disks().virtualSize(driver.diskPath(spec.uuid))).toBeGreaterThanOrEqual(CONFORMANCE_FLAVOR.root_gb * 1024 ** 3);
        expect(await disks().headSha256(driver.diskPath(spec.uuid), size)).toBe(sha);
      }, opts.timeoutMs);

      it('leaves the VM shut off without powerOn; finishing again changes nothing, or only boots it', async () => {
        const spec = vmSpec();
        await copyIn(spec.uuid);
        await driver.finishIncoming(spec, { powerOn: false });
        const defined = await driver.getVm(spec.uuid);
        expect(defined?.power_state).toBe(POWER_STATES.SHUTDOWN);
        await driver.finishIncoming(spec, { powerOn: false });
        expect(await driver.getVm(spec.uuid)).toEqual(defined);
        expect((await driver.listVms()).filter((v) => v.uuid === spec.uuid)).toHaveLength(1);
        await driver.finishIncoming(spec, { powerOn: true });
        await driver.finishIncoming(spec, { powerOn: true });
        expect(await powerOf(spec.uuid)).toBe(POWER_STATES.RUNNING);
      }, opts.timeoutMs);

      it('refuses to finish without a disk copied in', async () => {
        const [never, empty] = [vmSpec(), vmSpec()];
        await expect(driver.finishIncoming(never, { powerOn: true })).rejects.toBeInstanceOf(VmNotFound);
        await driver.prepareIncoming(empty.uuid);
        await expect(driver.finishIncoming(empty, { powerOn: true })).rejects.toBeInstanceOf(VmNotFound);
        expect(await driver.getVm(empty.uuid)).toBeUndefined();
      }, opts.timeoutMs);

      it('destroys a disk copied in but never defined; until then it is held (listed) though it is no VM', async () => {
        const spec = vmSpec();
        await copyIn(spec.uuid);
        expect(await driver.listHeldInstances()).toContain(spec.uuid);
        expect((await driver.listVms()).map((v) => v.uuid)).not.toContain(spec.uuid);
        await driver.destroy(spec.uuid);
        expect(await driver.listHeldInstances()).not.toContain(spec.uuid);
        await expect(stat(driver.diskPath(spec.uuid))).rejects.toMatchObject({ code: 'ENOENT' });
      }, opts.timeoutMs);

      it('tracks the writes to a VM it has (dirty ranges, or an overlay file beside the disk): complete once the VM is off', async () => {
        const spec = vmSpec();
        const overlay = (h.disks ?? RAW_DISKS).writesWhileTracked === 'overlay';
        await driver.spawn(spec);
        await expect(driver.trackDirtyRegions(randomUUID())).rejects.toBeInstanceOf(VmNotFound);
        expect(await driver.pendingDiskFiles(spec.uuid)).toEqual([]);
        const tracker = await driver.trackDirtyRegions(spec.uuid);
        const pending = await driver.pendingDiskFiles(spec.uuid);
        if (overlay) {
          // The disk is frozen: the guest's writes go to the one file named, which exists beside the disk.
          expect(pending).toHaveLength(1);
          expect((await stat(pending[0]!)).isFile()).toBe(true);
          expect(pending[0]).not.toBe(driver.diskPath(spec.uuid));
        } else {
          expect(pending).toEqual([]);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
        await driver.powerOff(spec.uuid);
        const ranges = tracker.ranges();
        expect(isNormalized(ranges)).toBe(true);
        if (overlay) expect(ranges).toEqual([]);
        // Off, nothing changes any more: the same ranges, the same files.
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(tracker.ranges()).toEqual(ranges);
        expect(await driver.pendingDiskFiles(spec.uuid)).toEqual(pending);
        tracker.stop();
        tracker.stop();
      }, opts.timeoutMs);
    });

    describe('live migration', () => {
      let peer: Driver;
      let peerHost: string;
      const migration = (o: Partial<LiveMigrationOptions> = {}): LiveMigrationOptions => ({
        destHost: peerHost, blockMigration: h.peer?.blockMigration ?? false, maxDowntimeMs: 500, autoConverge: false, postCopyAllowed: false, ...o,
      });

      beforeEach(async () => {
        if (!h.peer) return;
        peerHost = h.peer.host;
        peer = await h.peer.open();
        await peer.init();
      }, opts.timeoutMs);

      /** Begin, Prepare, Perform: the running job. */
      const start = async (spec: VmSpec, o: LiveMigrationOptions) => {
        const begun = await driver.liveMigrationBegin(spec.uuid, o);
        const prepared = await peer.liveMigrationPrepare(spec, begun, { blockMigration: o.blockMigration });
        expect(await peer.getVm(spec.uuid)).toMatchObject({ uuid: spec.uuid, power_state: POWER_STATES.PAUSED });
        // Paused either way to the power sync, but only an incoming VM may be dropped by a rollback.
        expect(await peer.guestPresence(spec.uuid)).toBe('incoming');
        return driver.liveMigrationPerform(spec.uuid, prepared, o);
      };

      it('moves a running VM through the five phases: it then runs on the peer only', async () => {
        if (!h.peer) return;
        const spec = vmSpec();
        await driver.spawn(spec);
        const job = await start(spec, migration());
        const cookie = await job.done;
        // A hypervisor counts all of the guest's RAM, and may count more (firmware, device memory).
        expect(job.stats()).toMatchObject({ phase: 'completed', memory_remaining: 0 });
        expect(job.stats().memory_total).toBeGreaterThanOrEqual(CONFORMANCE_FLAVOR.memory_mb * 1024 * 1024);
        expect(job.stats().memory_processed).toBeGreaterThan(0);
        const finished = await peer.liveMigrationFinish(spec.uuid, cookie, { success: true, paused: false });
        await peer.liveMigrationFinish(spec.uuid, cookie, { success: true, paused: false });
        await driver.liveMigrationConfirm(spec.uuid, finished, { success: true, paused: false });
        await driver.liveMigrationConfirm(spec.uuid, finished, { success: true, paused: false });
        expect(await driver.getVm(spec.uuid)).toBeUndefined();
        expect(await peer.getVm(spec.uuid)).toMatchObject({ uuid: spec.uuid, power_state: POWER_STATES.RUNNING, memory_mb: CONFORMANCE_FLAVOR.memory_mb });
        expect(await driver.guestPresence(spec.uuid)).toBe('absent');
        expect(await peer.guestPresence(spec.uuid)).toBe('running');
      }, opts.timeoutMs);

      it('an aborted transfer leaves the VM running on the source; Finish(failure) drops the incoming VM', async () => {
        if (!h.peer) return;
        const spec = vmSpec();
        await driver.spawn(spec);
        // No downtime allowed, 1 MiB/s, and a guest dirtying RAM faster than any link: the transfer cannot complete on its own.
        const job = await start(spec, migration({ maxDowntimeMs: 0, bandwidthBytesPerSec: 1024 * 1024, dirtyRateBytesPerSec: 1024 ** 4 }));
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(job.stats().phase).toBe('running');
        job.abort();
        await expect(job.done).rejects.toMatchObject({ code: 'LiveMigrationCancelled' });
        expect(job.stats().phase).toBe('cancelled');
        expect(await powerOf(spec.uuid)).toBe(POWER_STATES.RUNNING);
        await peer.liveMigrationFinish(spec.uuid, {}, { success: false, paused: false });
        await peer.liveMigrationFinish(spec.uuid, {}, { success: false, paused: false });
        expect(await peer.getVm(spec.uuid)).toBeUndefined();
        await driver.liveMigrationConfirm(spec.uuid, {}, { success: false, paused: false });
        expect(await powerOf(spec.uuid)).toBe(POWER_STATES.RUNNING);
        expect(await peer.guestPresence(spec.uuid)).toBe('absent');
        expect(await driver.guestPresence(spec.uuid)).toBe('running');
      }, opts.timeoutMs);
    });
  });
}
