// The behaviour every Transfer must show, as one suite each implementation runs (local copy, SSH to a real sshd).
import { access, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { allocatedRanges, totalLength, type CopyTuning, type Transfer, type TransferProgress } from '@ferry/compute/transfer';
import { allocatedBytes, makeSparseDisk, MIB, readRegion, scribble, sha256File, zeroOut, type Region } from './fixtures';

export interface TransferHarness {
  /** The host name copies go to (the harness makes it reachable). */
  readonly destHost: string;
  /** A transfer to destHost with these tuning options over the defaults. */
  make(tuning?: Partial<CopyTuning>): Transfer;
  cleanup(): Promise<void>;
}

const SIZE = 128 * MIB;
/** A few MiB of data in a 128 MiB disk, at aligned and unaligned places, one extent across a read boundary. */
const DATA: Region[] = [
  { offset: 0, length: 64 * 1024 },
  { offset: 3 * MIB - 4096, length: 2 * MIB + 8192 },
  { offset: 40 * MIB + 512, length: 1000 },
  { offset: SIZE - MIB, length: MIB },
];
const DATA_BYTES = DATA.reduce((a, r) => a + r.length, 0);
const DATA_BYTES_MAX = 4 * MIB;

/** Bytes of the regions of a file that hold data, as the filesystem reports them (SEEK_DATA/SEEK_HOLE). */
async function heldBytes(path: string): Promise<number> {
  return totalLength((await allocatedRanges(path))!);
}

const exists = (path: string) => access(path).then(() => true, () => false);

export function transferConformance(name: string, makeHarness: () => Promise<TransferHarness>): void {
  describe(`transfer conformance: ${name}`, () => {
    let h: TransferHarness;
    let dir: string;
    let source: string;
    let dest: string;
    const copyWhole = (transfer = h.make(), extra: { onProgress?: (p: TransferProgress) => void; signal?: AbortSignal } = {}) =>
      transfer.copy({ source, dest: { host: h.destHost, path: dest }, ...extra });

    beforeAll(async () => {
      h = await makeHarness();
    });
    afterAll(async () => {
      await h?.cleanup();
    });
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'ferry-transfer-'));
      source = join(dir, 'source', 'disk');
      dest = join(dir, 'dest', 'instances', 'abc', 'disk');
      await makeSparseDisk(await mkdirFor(source), SIZE, DATA);
    });
    afterEach(() => rm(dir, { recursive: true, force: true }));

    it('copies a sparse file whole: same bytes, and the destination stays sparse', async () => {
      const result = await copyWhole();
      expect(await sha256File(dest)).toBe(await sha256File(source));
      expect((await stat(dest)).size).toBe(SIZE);
      expect(await allocatedBytes(dest)).toBeLessThan(2 * DATA_BYTES_MAX);
      // The copy covered what the source holds, not its size: what disk_total reports.
      expect(result.total).toBe(await heldBytes(source));
      expect(result.total).toBeGreaterThanOrEqual(DATA_BYTES);
      expect(result.total).toBeLessThan(2 * DATA_BYTES_MAX);
      expect(result.bytes).toBeGreaterThan(0);
      expect(result.bytes).toBeLessThanOrEqual(DATA_BYTES_MAX + 8192);
      expect(await readdir(join(dir, 'dest', 'instances', 'abc'))).toEqual(['disk']);
    });

    it('replaces a destination file left by an earlier copy', async () => {
      await makeSparseDisk(await mkdirFor(dest), 4 * MIB, [{ offset: 0, length: MIB }]);
      await copyWhole();
      expect(await sha256File(dest)).toBe(await sha256File(source));
    });

    it('reuses the part file a crashed copy left behind', async () => {
      await writeFile(`${await mkdirFor(dest)}.part`, 'half of an earlier copy');
      await copyWhole();
      expect(await sha256File(dest)).toBe(await sha256File(source));
      expect(await exists(`${dest}.part`)).toBe(false);
    });

    it('copies only the given ranges onto the existing destination', async () => {
      await copyWhole();
      const changed: Region[] = [{ offset: 16 * MIB, length: 300_000 }, { offset: 3 * MIB, length: 4096 }];
      const wiped: Region = { offset: SIZE - MIB, length: 64 * 1024 };
      const notSent: Region = { offset: 90 * MIB, length: 8192 };
      await scribble(source, [...changed, notSent]);
      await zeroOut(source, [wiped]);

      const result = await h.make().copy({ source, dest: { host: h.destHost, path: dest }, ranges: [...changed, wiped] });
      expect(result).toMatchObject({ total: 300_000 + 4096 + 64 * 1024, bytes: 300_000 + 4096 + 64 * 1024 });
      for (const r of [...changed, wiped]) expect((await readRegion(dest, r)).equals(await readRegion(source, r))).toBe(true);
      expect((await readRegion(dest, notSent)).equals(Buffer.alloc(notSent.length))).toBe(true);

      await h.make().copy({ source, dest: { host: h.destHost, path: dest }, ranges: [notSent] });
      expect(await sha256File(dest)).toBe(await sha256File(source));
    });

    it('by ranges, writes zeros where a range covers a hole of the source (stale data at the destination goes)', async () => {
      await copyWhole();
      // The destination holds data where the source has a hole (as after a discard in the guest); a range spans both.
      const stale: Region = { offset: 60 * MIB, length: 2 * MIB };
      await scribble(dest, [stale]);
      await scribble(source, [{ offset: 62 * MIB, length: MIB }]);
      const range: Region = { offset: 60 * MIB - 4096, length: 3 * MIB + 8192 };
      const result = await h.make().copy({ source, dest: { host: h.destHost, path: dest }, ranges: [range] });
      expect(result).toMatchObject({ total: range.length, bytes: range.length });
      expect((await readRegion(dest, stale)).equals(Buffer.alloc(stale.length))).toBe(true);
      expect(await sha256File(dest)).toBe(await sha256File(source));
    });

    it('holds a copy, whole or by ranges, to maxBytesPerSecond, and still copies every byte', async () => {
      const rate = 8 * MIB;
      const whole = await h.make().copy({ source, dest: { host: h.destHost, path: dest }, maxBytesPerSecond: rate });
      expect(await sha256File(dest)).toBe(await sha256File(source));
      // About 3 MiB of data at 8 MiB/s: ~0.4 s; unbounded, a few ms.
      expect(whole.seconds).toBeGreaterThanOrEqual(whole.bytes / rate - 0.05);
      expect(whole.seconds).toBeLessThan(whole.bytes / rate + 5);
      const changed: Region[] = [{ offset: 16 * MIB, length: 2 * MIB }];
      await scribble(source, changed);
      const ranged = await h.make().copy({ source, dest: { host: h.destHost, path: dest }, ranges: changed, maxBytesPerSecond: rate });
      expect(ranged.seconds).toBeGreaterThanOrEqual(0.2);
      expect(await sha256File(dest)).toBe(await sha256File(source));
      await expect(h.make().copy({ source, dest: { host: h.destHost, path: dest }, maxBytesPerSecond: 0 })).rejects.toMatchObject({ code: 'InvalidInput' });
    });

    it('refuses a ranged copy when there is no destination file to patch', async () => {
      const copy = h.make().copy({ source, dest: { host: h.destHost, path: dest }, ranges: [{ offset: 0, length: 10 }] });
      await expect(copy).rejects.toMatchObject({ code: 'TransferFailed' });
      expect(await exists(dest)).toBe(false);
    });

    it('reports progress monotonically, from 0 to the total: the bytes the source holds', async () => {
      const reports: TransferProgress[] = [];
      const total = await heldBytes(source);
      await copyWhole(h.make({ progressIntervalMs: 0, readLength: 256 * 1024 }), { onProgress: (p) => reports.push(p) });
      expect(reports.length).toBeGreaterThan(2);
      expect(reports[0]).toEqual({ total, processed: 0, remaining: total });
      expect(reports[reports.length - 1]).toEqual({ total, processed: total, remaining: 0 });
      for (let i = 1; i < reports.length; i++) {
        expect(reports[i].processed).toBeGreaterThanOrEqual(reports[i - 1].processed);
        expect(reports[i].total).toBe(total);
        expect(reports[i].remaining).toBe(total - reports[i].processed);
      }
    });

    it('bounds the rate of progress reports', async () => {
      const reports: TransferProgress[] = [];
      await copyWhole(h.make({ progressIntervalMs: 60_000 }), { onProgress: (p) => reports.push(p) });
      expect(reports.map((p) => p.processed)).toEqual([0, await heldBytes(source)]);
    });

    it('copies a 20 GiB disk holding a few MiB by its data alone: total and bytes near the data, the copy sparse', async () => {
      const big = join(dir, 'source', 'big');
      const held: Region[] = [{ offset: 0, length: MIB }, { offset: 9 * 1024 * MIB + 4096, length: 2 * MIB }, { offset: 20 * 1024 * MIB - MIB, length: MIB }];
      await makeSparseDisk(big, 20 * 1024 * MIB, held);
      const to = join(dir, 'dest', 'big');
      const result = await h.make().copy({ source: big, dest: { host: h.destHost, path: to } });
      expect(result.total).toBe(await heldBytes(big));
      expect(result.total).toBeLessThan(16 * MIB);
      expect(result.bytes).toBeLessThanOrEqual(result.total);
      expect((await stat(to)).size).toBe(20 * 1024 * MIB);
      expect(await allocatedBytes(to)).toBeLessThan(16 * MIB);
      for (const r of held) expect((await readRegion(to, r)).equals(await readRegion(big, r))).toBe(true);
      expect((await readRegion(to, { offset: 5 * 1024 * MIB, length: MIB })).equals(Buffer.alloc(MIB))).toBe(true);
    });

    it('cancelled mid-copy, leaves neither the final file nor a part file', async () => {
      const abort = new AbortController();
      let seenAt = 0;
      const copy = copyWhole(h.make({ progressIntervalMs: 0 }), {
        signal: abort.signal,
        onProgress: (p) => {
          if (p.processed > 0 && !abort.signal.aborted) {
            seenAt = p.processed;
            abort.abort();
          }
        },
      });
      await expect(copy).rejects.toMatchObject({ code: 'TransferCancelled' });
      expect(seenAt).toBeGreaterThan(0);
      expect(seenAt).toBeLessThan(await heldBytes(source));
      expect(await exists(dest)).toBe(false);
      expect(await exists(`${dest}.part`)).toBe(false);
    });

    it('cancelled before it starts, touches nothing', async () => {
      const abort = new AbortController();
      abort.abort();
      await expect(copyWhole(h.make(), { signal: abort.signal })).rejects.toMatchObject({ code: 'TransferCancelled' });
      expect(await exists(join(dir, 'dest'))).toBe(false);
    });

    it('fails with TransferFailed when the source is missing', async () => {
      await expect(h.make().copy({ source: join(dir, 'nothing'), dest: { host: h.destHost, path: dest } })).rejects.toMatchObject({ code: 'TransferFailed' });
    });
  });
}

/** path, once its directory exists. */
async function mkdirFor(path: string): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  return path;
}
