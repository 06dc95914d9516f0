// The fake driver's live migration between two hosts (two driver objects sharing only a state dir): the five phases,
// the pre-copy job and its steering, block migration and the fault points.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { POWER_STATES } from '@ferry/common/domain';
import type { VmSpec } from '../driver';
import { DriverError, LiveMigrationCancelled, UnsafePeerPath, VmInvalidState, VmNotFound } from '../errors';
import type { LiveMigrationJob, LiveMigrationJobStats, LiveMigrationOptions } from '../live-migration';
import { allocatedRanges } from '../../transfer/allocated-ranges';
import { totalLength } from '../../transfer/byte-ranges';
import { FakeDriver, type FakeDriverOptions } from './fake-driver';
import { armFault, InjectedFault, type FaultPoint } from './fault-points';
import { DISK_FILE, STATE_FILE, type FakeVmRecord } from './vm-files';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
/** 512 MiB of RAM and no root disk (block migration tests give it one). */
const TINY = { id: 1, flavorid: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 512, root_gb: 0, ephemeral_gb: 0, swap: 0, extra_specs: {} };

describe('fake driver: live migration', () => {
  let stateDir: string;
  let src: FakeDriver;
  let dst: FakeDriver;
  /** Jobs to abort after each test, so none goes on running. */
  let jobs: LiveMigrationJob[];

  const make = (host: string, extra: Partial<FakeDriverOptions> = {}) =>
    new FakeDriver({ host, stateDir, vcpus: 8, memoryMb: 16384, diskGb: 100, liveMigrationTimeScale: 0.001, ...extra });
  const spec = (): VmSpec => ({ uuid: randomUUID(), name: 'vm', flavor: TINY, image_ref: 'cirros' });
  const options = (o: Partial<LiveMigrationOptions> = {}): LiveMigrationOptions => ({
    destHost: 'dst-1', blockMigration: false, maxDowntimeMs: 100, autoConverge: false, postCopyAllowed: false, ...o,
  });
  const record = async (d: FakeDriver, uuid: string) => JSON.parse(await readFile(join(d.vmDir(uuid), STATE_FILE), 'utf8')) as FakeVmRecord;
  const powerOf = async (d: FakeDriver, uuid: string) => (await d.getVm(uuid))?.power_state;
  const exists = (path: string) => stat(path).then(() => true, () => false);

  /** Begin, Prepare and Perform: the job, running. */
  async function start(s: VmSpec, o: LiveMigrationOptions = options()): Promise<LiveMigrationJob> {
    const begun = await src.liveMigrationBegin(s.uuid, o);
    const prepared = await dst.liveMigrationPrepare(s, begun, { blockMigration: o.blockMigration });
    const job = await src.liveMigrationPerform(s.uuid, prepared, o);
    jobs.push(job);
    return job;
  }

  /** Waits (on the wall clock) until the job's stats satisfy `until`. */
  async function waitFor(job: LiveMigrationJob, until: (s: LiveMigrationJobStats) => boolean, timeoutMs = 5000): Promise<LiveMigrationJobStats> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = job.stats();
      if (until(s)) return s;
      if (Date.now() > deadline) throw new Error(`job never got there: ${JSON.stringify(s)}`);
      await sleep(2);
    }
  }

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'ferry-fake-live-'));
    src = make('src-1');
    dst = make('dst-1');
    await Promise.all([src.init(), dst.init()]);
    jobs = [];
  });
  afterEach(async () => {
    for (const job of jobs) job.abort();
    await Promise.allSettled(jobs.map((j) => j.done));
    await rm(stateDir, { recursive: true, force: true });
  });

  it('moves a running guest through the five phases: it ends running on the destination only', async () => {
    const s = spec();
    await src.spawn(s);
    await src.reboot(s.uuid, 'HARD');
    const begun = await src.liveMigrationBegin(s.uuid, options());
    expect(begun).toMatchObject({ source_host: 'src-1', block_migration: false, name: 'vm', vcpus: 1, memory_mb: 512, root_gb: 0, image_ref: 'cirros', state: 'running' });
    expect(JSON.parse(JSON.stringify(begun))).toEqual(begun);

    const prepared = await dst.liveMigrationPrepare(s, begun, { blockMigration: false });
    expect(prepared).toMatchObject({ dest_host: 'dst-1', incoming_dir: dst.vmDir(s.uuid), disk_path: join(dst.vmDir(s.uuid), DISK_FILE) });
    expect(await record(dst, s.uuid)).toMatchObject({ state: 'incoming', incoming_from: 'src-1', boots: 2, memory_mb: 512 });
    expect(await dst.getVm(s.uuid)).toMatchObject({ uuid: s.uuid, power_state: POWER_STATES.PAUSED });
    expect((await dst.listVms()).map((v) => v.uuid)).toEqual([s.uuid]);
    expect(await dst.liveMigrationPrepare(s, begun, { blockMigration: false })).toEqual(prepared);

    const job = await src.liveMigrationPerform(s.uuid, prepared, options());
    const cookie = await job.done;
    expect(JSON.parse(JSON.stringify(cookie))).toEqual(cookie);
    expect(job.stats()).toMatchObject({ phase: 'completed', memory_total: 512 * MIB, memory_processed: 512 * MIB, memory_remaining: 0, iterations: 1, elapsed_ms: 500 });
    // QEMU leaves the source paused after completion: the guest is never running on both hosts.
    expect(await powerOf(src, s.uuid)).toBe(POWER_STATES.PAUSED);
    expect(await powerOf(dst, s.uuid)).toBe(POWER_STATES.PAUSED);

    const finished = await dst.liveMigrationFinish(s.uuid, cookie, { success: true, paused: false });
    expect(await record(dst, s.uuid)).toMatchObject({ state: 'running', incoming_from: null, boots: 2 });
    await dst.liveMigrationFinish(s.uuid, cookie, { success: true, paused: false });
    await src.liveMigrationConfirm(s.uuid, finished, { success: true, paused: false });
    await src.liveMigrationConfirm(s.uuid, finished, { success: true, paused: false });
    expect(await exists(src.vmDir(s.uuid))).toBe(false);
    expect(await src.listVms()).toEqual([]);
    expect(await dst.listVms()).toEqual([expect.objectContaining({ uuid: s.uuid, power_state: POWER_STATES.RUNNING })]);
  });

  it('a paused guest arrives paused', async () => {
    const s = spec();
    await src.spawn(s);
    await src.pause(s.uuid);
    const job = await start(s);
    const cookie = await job.done;
    await dst.liveMigrationFinish(s.uuid, cookie, { success: true, paused: true });
    await src.liveMigrationConfirm(s.uuid, {}, { success: true, paused: true });
    expect(await powerOf(dst, s.uuid)).toBe(POWER_STATES.PAUSED);
    expect(await src.getVm(s.uuid)).toBeUndefined();
    await dst.unpause(s.uuid);
    expect(await powerOf(dst, s.uuid)).toBe(POWER_STATES.RUNNING);
  });

  it('refuses a VM it does not have, or one that neither runs nor is paused', async () => {
    const s = spec();
    await expect(src.liveMigrationBegin(s.uuid, options())).rejects.toBeInstanceOf(VmNotFound);
    await expect(src.liveMigrationPerform(s.uuid, {}, options())).rejects.toBeInstanceOf(VmNotFound);
    await src.spawn(s);
    await src.powerOff(s.uuid);
    await expect(src.liveMigrationBegin(s.uuid, options())).rejects.toBeInstanceOf(VmInvalidState);
    await expect(src.liveMigrationPerform(s.uuid, {}, options())).rejects.toBeInstanceOf(VmInvalidState);
  });

  it('refuses to prepare over a VM of the same uuid that is no incoming one', async () => {
    const s = spec();
    await dst.spawn(s);
    await expect(dst.liveMigrationPrepare(s, {}, { blockMigration: false })).rejects.toBeInstanceOf(VmInvalidState);
    expect(await powerOf(dst, s.uuid)).toBe(POWER_STATES.RUNNING);
  });

  it('Finish and Confirm on failure are idempotent and need no cookie', async () => {
    const s = spec();
    await src.spawn(s);
    await dst.liveMigrationPrepare(s, {}, { blockMigration: false });
    await dst.liveMigrationFinish(s.uuid, {}, { success: false, paused: false });
    await dst.liveMigrationFinish(s.uuid, {}, { success: false, paused: false });
    expect(await exists(dst.vmDir(s.uuid))).toBe(false);
    await src.liveMigrationConfirm(s.uuid, {}, { success: false, paused: false });
    await src.liveMigrationConfirm(s.uuid, {}, { success: false, paused: false });
    expect(await powerOf(src, s.uuid)).toBe(POWER_STATES.RUNNING);
    await expect(src.liveMigrationConfirm(randomUUID(), {}, { success: false, paused: false })).rejects.toBeInstanceOf(VmNotFound);
    await expect(dst.liveMigrationFinish(s.uuid, {}, { success: true, paused: false })).rejects.toBeInstanceOf(VmNotFound);
  });

  it('a Finish(failure) leaves alone a VM that already took over', async () => {
    const s = spec();
    await src.spawn(s);
    const job = await start(s);
    await dst.liveMigrationFinish(s.uuid, await job.done, { success: true, paused: false });
    await dst.liveMigrationFinish(s.uuid, {}, { success: false, paused: false });
    expect(await powerOf(dst, s.uuid)).toBe(POWER_STATES.RUNNING);
  });

  describe('a guest that never converges (it dirties RAM faster than the link moves it)', () => {
    const busy = (o: Partial<LiveMigrationOptions> = {}) => options({ dirtyRateBytesPerSec: 2 * GIB, ...o });

    it('keeps iterating, with everything still to send', async () => {
      const s = spec();
      await src.spawn(s);
      const job = await start(s, busy());
      const stats = await waitFor(job, (x) => x.iterations >= 5);
      expect(stats).toMatchObject({ phase: 'running', memory_remaining: 512 * MIB, expected_downtime_ms: 500, max_downtime_ms: 100, postcopy: false, paused: false });
      expect(await powerOf(src, s.uuid)).toBe(POWER_STATES.RUNNING);
    });

    it('takes its dirty rate from the driver when the migration names none', async () => {
      src = make('src-1', { liveMigrationDirtyRate: 2 * GIB });
      const s = spec();
      await src.spawn(s);
      const job = await start(s);
      expect(await waitFor(job, (x) => x.iterations >= 3)).toMatchObject({ phase: 'running', memory_remaining: 512 * MIB });
    });

    it('force-complete without post-copy pauses the guest and completes', async () => {
      const s = spec();
      await src.spawn(s);
      const job = await start(s, busy());
      await waitFor(job, (x) => x.iterations >= 3);
      job.forceComplete();
      expect(job.stats()).toMatchObject({ paused: true, postcopy: false });
      await job.done;
      expect(job.stats()).toMatchObject({ phase: 'completed', paused: true, memory_remaining: 0 });
      expect(await powerOf(src, s.uuid)).toBe(POWER_STATES.PAUSED);
    });

    it('force-complete with post-copy allowed switches to post-copy and completes; an abort then changes nothing', async () => {
      const s = spec();
      await src.spawn(s);
      const job = await start(s, busy({ postCopyAllowed: true }));
      await waitFor(job, (x) => x.iterations >= 3);
      job.forceComplete();
      job.abort();
      expect(job.stats()).toMatchObject({ phase: 'running', postcopy: true, paused: false });
      await expect(job.done).resolves.toMatchObject({ postcopy: true });
      expect(job.stats()).toMatchObject({ phase: 'completed', postcopy: true });
    });

    it('a raised downtime lets it complete', async () => {
      const s = spec();
      await src.spawn(s);
      const job = await start(s, busy());
      expect(await waitFor(job, (x) => x.iterations >= 3)).toMatchObject({ phase: 'running', expected_downtime_ms: 500 });
      job.setMaxDowntime(600);
      expect(job.stats().max_downtime_ms).toBe(600);
      await job.done;
      expect(job.stats()).toMatchObject({ phase: 'completed', paused: false, postcopy: false });
      expect(() => job.setMaxDowntime(-1)).toThrow(RangeError);
    });

    it('auto-converge throttles it until it converges', async () => {
      const s = spec();
      await src.spawn(s);
      const job = await start(s, busy({ autoConverge: true }));
      await job.done;
      expect(job.stats().iterations).toBeGreaterThan(3);
    });

    it('abort cancels it: the guest keeps running on the source, Finish(failure) drops the incoming VM', async () => {
      const s = spec();
      await src.spawn(s);
      const job = await start(s, busy());
      await waitFor(job, (x) => x.iterations >= 2);
      job.abort();
      job.forceComplete();
      expect(job.stats().phase).toBe('cancelled');
      const err = await job.done.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LiveMigrationCancelled);
      expect(err).toMatchObject({ code: 'LiveMigrationCancelled' });
      expect(await powerOf(src, s.uuid)).toBe(POWER_STATES.RUNNING);
      await dst.liveMigrationFinish(s.uuid, {}, { success: false, paused: false });
      expect(await exists(dst.vmDir(s.uuid))).toBe(false);
      await src.liveMigrationConfirm(s.uuid, {}, { success: false, paused: false });
      expect(await powerOf(src, s.uuid)).toBe(POWER_STATES.RUNNING);
      expect(job.stats().phase).toBe('cancelled');
    });

    it('abort after a pausing force-complete puts the guest back as it was; a paused guest stays paused', async () => {
      const [running, paused] = [spec(), spec()];
      for (const s of [running, paused]) await src.spawn(s);
      await src.pause(paused.uuid);
      for (const s of [running, paused]) {
        const job = await start(s, busy());
        job.forceComplete();
        job.abort();
        await expect(job.done).rejects.toBeInstanceOf(LiveMigrationCancelled);
      }
      expect(await powerOf(src, running.uuid)).toBe(POWER_STATES.RUNNING);
      expect(await powerOf(src, paused.uuid)).toBe(POWER_STATES.PAUSED);
    });

    it('fails when the source VM is gone by the time it completes', async () => {
      const s = spec();
      await src.spawn(s);
      const job = await start(s, busy({ postCopyAllowed: true }));
      await src.destroy(s.uuid);
      job.forceComplete();
      await expect(job.done).rejects.toBeInstanceOf(VmNotFound);
      expect(job.stats().phase).toBe('failed');
    });
  });

  it('reports stats that never go back, RAM only after the disk, ending at the totals', async () => {
    src = make('src-1', { liveMigrationTimeScale: 0.05 });
    const s = spec();
    await src.spawn(s);
    await writeFile(src.diskPath(s.uuid), randomBytes(32 * MIB));
    const job = await start(s, options({ blockMigration: true, dirtyRateBytesPerSec: 256 * MIB, maxDowntimeMs: 30 }));
    const seen: LiveMigrationJobStats[] = [];
    let settled = false;
    void job.done.finally(() => { settled = true; });
    while (!settled) {
      seen.push(job.stats());
      await sleep(1);
    }
    seen.push(job.stats());
    expect(seen.length).toBeGreaterThan(5);
    for (const field of ['memory_processed', 'disk_processed', 'iterations', 'elapsed_ms'] as const) {
      for (let i = 1; i < seen.length; i++) expect(seen[i][field]).toBeGreaterThanOrEqual(seen[i - 1][field]);
    }
    for (const x of seen) {
      expect(x.disk_total).toBe(32 * MIB);
      expect(x.disk_processed + x.disk_remaining).toBe(32 * MIB);
      if (x.memory_processed > 0) expect(x.disk_remaining).toBe(0);
    }
    expect(seen.at(-1)).toMatchObject({ phase: 'completed', disk_processed: 32 * MIB, disk_remaining: 0, memory_remaining: 0 });
    expect(seen.at(-1)!.iterations).toBeGreaterThan(1);
    expect(seen.at(-1)!.memory_processed).toBeGreaterThan(512 * MIB);
  });

  it('block migration copies the disk into the one the destination prepared, byte for byte and sparse', async () => {
    const s = spec();
    await src.spawn(s);
    // The guest's data: 8 MiB with two written regions, the rest a hole.
    const handle = await open(src.diskPath(s.uuid), 'r+');
    await handle.truncate(8 * MIB);
    await handle.write(randomBytes(300 * 1024), 0, 300 * 1024, 64 * 1024);
    await handle.write(randomBytes(MIB), 0, MIB, 5 * MIB);
    await handle.close();
    const job = await start(s, options({ blockMigration: true }));
    await job.done;
    const sha = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');
    expect(await sha(dst.diskPath(s.uuid))).toBe(await sha(src.diskPath(s.uuid)));
    // The total is what the copy moved: the regions the disk holds (as its filesystem reports them), not its 8 MiB.
    const held = totalLength((await allocatedRanges(src.diskPath(s.uuid)))!);
    expect(held).toBeGreaterThanOrEqual(MIB + 300 * 1024);
    expect(held).toBeLessThan(3 * MIB);
    expect(job.stats()).toMatchObject({ disk_total: held, disk_processed: held, disk_remaining: 0 });
    expect((await stat(dst.diskPath(s.uuid))).blocks * 512).toBeLessThan(3 * MIB);
  });

  it('without block migration leaves the disk the destination made as it was (empty, of the flavor size)', async () => {
    const s = { ...spec(), flavor: { ...TINY, root_gb: 1 } };
    await src.spawn(s);
    const job = await start(s);
    await job.done;
    expect(job.stats()).toMatchObject({ disk_total: 0, disk_processed: 0, disk_remaining: 0 });
    expect((await stat(dst.diskPath(s.uuid))).size).toBe(GIB);
  });

  it('refuses a block migration whose destination named no disk', async () => {
    const s = spec();
    await src.spawn(s);
    await expect(src.liveMigrationPerform(s.uuid, { dest_host: 'dst-1' }, options({ blockMigration: true }))).rejects.toBeInstanceOf(DriverError);
  });

  it('refuses a block migration into a path outside the instance directory on the destination, writing nothing', async () => {
    const s = spec();
    await src.spawn(s);
    const victim = join(stateDir, 'victim');
    await writeFile(victim, 'keep me');
    const escape = `${dst.vmDir(s.uuid)}/../../../../${'victim'}`;
    for (const disk_path of [victim, escape, dst.diskPath(randomUUID())]) {
      await expect(src.liveMigrationPerform(s.uuid, { dest_host: 'dst-1', disk_path }, options({ blockMigration: true }))).rejects.toBeInstanceOf(UnsafePeerPath);
    }
    expect(await readFile(victim, 'utf8')).toBe('keep me');
    expect((await src.getVm(s.uuid))?.power_state).toBe(POWER_STATES.RUNNING);
  });

  describe('fault points', () => {
    const faultOf = (point: FaultPoint) => ({ code: 'InjectedFault', details: { fault_point: point } });

    it('live_migration_begin, _prepare and _perform fail their phase, changing nothing', async () => {
      const s = spec();
      await src.spawn(s);
      await armFault(src.hostDir, 'live_migration_begin');
      await expect(src.liveMigrationBegin(s.uuid, options())).rejects.toMatchObject(faultOf('live_migration_begin'));
      const begun = await src.liveMigrationBegin(s.uuid, options());
      await armFault(dst.hostDir, 'live_migration_prepare');
      await expect(dst.liveMigrationPrepare(s, begun, { blockMigration: false })).rejects.toMatchObject(faultOf('live_migration_prepare'));
      expect(await exists(dst.vmDir(s.uuid))).toBe(false);
      const prepared = await dst.liveMigrationPrepare(s, begun, { blockMigration: false });
      await armFault(src.hostDir, 'live_migration_perform');
      await expect(src.liveMigrationPerform(s.uuid, prepared, options())).rejects.toMatchObject(faultOf('live_migration_perform'));
      expect(await powerOf(src, s.uuid)).toBe(POWER_STATES.RUNNING);
    });

    it('live_migration_job fails the transfer partway, the source guest as it was', async () => {
      const s = spec();
      await src.spawn(s);
      await armFault(src.hostDir, 'live_migration_job', { message: 'migration stream broke' });
      const job = await start(s);
      const err = await job.done.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InjectedFault);
      expect(err).toBeInstanceOf(DriverError);
      expect(err).toMatchObject(faultOf('live_migration_job'));
      const stats = job.stats();
      expect(stats).toMatchObject({ phase: 'failed', error: expect.stringContaining('migration stream broke') as unknown });
      expect(stats.memory_processed).toBeGreaterThan(0);
      expect(stats.memory_processed).toBeLessThan(512 * MIB);
      expect(await powerOf(src, s.uuid)).toBe(POWER_STATES.RUNNING);
      expect(await powerOf(dst, s.uuid)).toBe(POWER_STATES.PAUSED);
    });

    it('live_migration_finish and _confirm fail their phase; a retry then does it', async () => {
      const s = spec();
      await src.spawn(s);
      const job = await start(s);
      const cookie = await job.done;
      await armFault(dst.hostDir, 'live_migration_finish');
      await expect(dst.liveMigrationFinish(s.uuid, cookie, { success: true, paused: false })).rejects.toMatchObject(faultOf('live_migration_finish'));
      expect(await record(dst, s.uuid)).toMatchObject({ state: 'incoming' });
      await dst.liveMigrationFinish(s.uuid, cookie, { success: true, paused: false });
      await armFault(src.hostDir, 'live_migration_confirm');
      await expect(src.liveMigrationConfirm(s.uuid, {}, { success: true, paused: false })).rejects.toMatchObject(faultOf('live_migration_confirm'));
      expect(await powerOf(src, s.uuid)).toBe(POWER_STATES.PAUSED);
      await src.liveMigrationConfirm(s.uuid, {}, { success: true, paused: false });
      expect(await src.getVm(s.uuid)).toBeUndefined();
    });
  });

  it('advertises supports_live_migrate_rescued unless told not to', async () => {
    expect((await src.hostInfo()).capabilities).toMatchObject({ supports_live_migrate_rescued: true });
    const other = make('other-1', { supportsLiveMigrateRescued: false });
    await other.init();
    expect((await other.hostInfo()).capabilities).toMatchObject({ supports_live_migrate_rescued: false });
  });

  it('refuses nonsense live-migration options', () => {
    expect(() => make('x', { liveMigrationTimeScale: 0 })).toThrow(/liveMigrationTimeScale/);
    expect(() => make('x', { liveMigrationBandwidth: -1 })).toThrow(/liveMigrationBandwidth/);
    expect(() => make('x', { liveMigrationDirtyRate: Number.NaN })).toThrow(/liveMigrationDirtyRate/);
  });

  it('leaves no timer behind once its jobs have ended, and none that would keep the process alive', async () => {
    const created: NodeJS.Timeout[] = [];
    const cleared = new Set<unknown>();
    const [realSet, realClear] = [global.setInterval, global.clearInterval];
    const setSpy = jest.spyOn(global, 'setInterval').mockImplementation(((fn: () => void, ms?: number) => {
      const t = realSet(fn, ms);
      created.push(t);
      return t;
    }) as typeof setInterval);
    const clearSpy = jest.spyOn(global, 'clearInterval').mockImplementation((t) => {
      cleared.add(t);
      realClear(t);
    });
    try {
      const s = spec();
      await src.spawn(s);
      const busyJob = await start(s, options({ dirtyRateBytesPerSec: 2 * GIB }));
      await waitFor(busyJob, (x) => x.iterations >= 2);
      expect(created.length).toBeGreaterThan(0);
      for (const t of created) expect(t.hasRef()).toBe(false);
      busyJob.abort();
      await busyJob.done.catch(() => undefined);
      await dst.liveMigrationFinish(s.uuid, {}, { success: false, paused: false });
      const job = await start(s);
      await job.done;
      const other = spec();
      await src.spawn(other);
      await armFault(src.hostDir, 'live_migration_job');
      const failing = await start(other);
      await failing.done.catch(() => undefined);
      expect(created.length).toBeGreaterThanOrEqual(3);
      for (const t of created) expect(cleared.has(t)).toBe(true);
    } finally {
      setSpy.mockRestore();
      clearSpy.mockRestore();
    }
  });
});
