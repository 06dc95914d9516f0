// The fake block copy's target: whatever it held before (an interrupted copy, a small file's inline data) is gone
// where the source has holes, and a target the destination prepared empty ends as sparse as the source.
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, stat, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyBlockDevice, planBlockCopy } from './block-copy';

const MIB = 1024 * 1024;

describe('copyBlockDevice target', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-block-copy-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const copy = async (source: string, dest: string) =>
    copyBlockDevice(source, dest, await planBlockCopy(source), { signal: new AbortController().signal, onProgress: () => undefined });

  /** The copy, and the sizes it truncated its target to, in order. */
  async function copyTruncating(source: string, dest: string): Promise<number[]> {
    const probe = await open(dest, 'r');
    const handles = Object.getPrototypeOf(probe) as FileHandle;
    await probe.close();
    const truncate = jest.spyOn(handles, 'truncate');
    try {
      await copy(source, dest);
      return truncate.mock.calls.map(([size]) => size ?? 0);
    } finally {
      truncate.mockRestore();
    }
  }

  /** A 64 MiB source holding 1 MiB of data at 32 MiB, holes elsewhere. */
  async function sparseSource(): Promise<{ path: string; data: Buffer }> {
    const path = join(dir, 'source');
    const data = randomBytes(MIB);
    await writeFile(path, '');
    await truncate(path, 64 * MIB);
    const handle = await open(path, 'r+');
    await handle.write(data, 0, MIB, 32 * MIB);
    await handle.close();
    return { path, data };
  }

  it('clears what an earlier copy left where the source has holes', async () => {
    const source = await sparseSource();
    const dest = join(dir, 'dest');
    // An interrupted copy of another disk: data all over the first 8 MiB.
    await writeFile(dest, randomBytes(8 * MIB));
    expect(await copyTruncating(source.path, dest)).toEqual([0, 64 * MIB]);
    const copied = await readFile(dest);
    expect(copied.length).toBe(64 * MIB);
    expect(copied.subarray(0, 32 * MIB).every((b) => b === 0)).toBe(true);
    expect(copied.subarray(32 * MIB, 33 * MIB).equals(source.data)).toBe(true);
    expect(copied.subarray(33 * MIB).every((b) => b === 0)).toBe(true);
  });

  it('clears a small target that may keep its data inline, in no block', async () => {
    const source = await sparseSource();
    const dest = join(dir, 'dest');
    await writeFile(dest, 'left over');
    await copy(source.path, dest);
    const copied = await readFile(dest);
    expect(copied.subarray(0, 16).every((b) => b === 0)).toBe(true);
    expect(copied.subarray(32 * MIB, 33 * MIB).equals(source.data)).toBe(true);
  });

  it('sizes a target prepared empty and leaves it as sparse as the source', async () => {
    const source = await sparseSource();
    const dest = join(dir, 'dest');
    await writeFile(dest, '');
    await truncate(dest, 20 * 1024 * MIB);
    // Only sized: a target truncated to zero is written back whole when it is closed (ext4's auto_da_alloc).
    expect(await copyTruncating(source.path, dest)).toEqual([64 * MIB]);
    expect((await stat(dest)).size).toBe(64 * MIB);
    expect((await stat(dest)).blocks * 512).toBeLessThan(4 * MIB);
    const copied = await readFile(dest);
    expect(copied.subarray(32 * MIB, 33 * MIB).equals(source.data)).toBe(true);
    expect(copied.subarray(0, 32 * MIB).every((b) => b === 0)).toBe(true);
  });
});
