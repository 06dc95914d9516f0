// The regions of a sparse file that hold data, as the filesystem reports them through qemu-img: what a whole-file copy
// reads (it skips the holes).
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allocatedRanges, totalLength } from '@ferry/compute/transfer';

const MIB = 1024 * 1024;

describe('allocated ranges of a file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-allocated-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('covers every region written and leaves out the holes of a sparse file', async () => {
    const path = join(dir, 'sparse');
    const handle = await open(path, 'w');
    await handle.truncate(4096 * MIB);
    await handle.write(Buffer.alloc(MIB, 1), 0, MIB, 0);
    await handle.write(Buffer.alloc(MIB, 2), 0, MIB, 3000 * MIB);
    await handle.close();
    const ranges = (await allocatedRanges(path))!;
    expect(totalLength(ranges)).toBeGreaterThanOrEqual(2 * MIB);
    expect(totalLength(ranges)).toBeLessThan(64 * MIB);
    for (const at of [0, MIB - 1, 3000 * MIB, 3001 * MIB - 1]) {
      expect(ranges.some((r) => r.offset <= at && at < r.offset + r.length)).toBe(true);
    }
    expect(ranges.some((r) => r.offset <= 2000 * MIB && 2000 * MIB < r.offset + r.length)).toBe(false);
  });

  it('answers without a map for a file with no blocks (no data), one that fills its size (no holes) and a small one', async () => {
    const empty = join(dir, 'empty');
    const none = await open(empty, 'w');
    await none.truncate(1024 * MIB);
    await none.close();
    expect(await allocatedRanges(empty)).toEqual([]);
    const dense = join(dir, 'dense');
    const full = await open(dense, 'w');
    await full.write(Buffer.alloc(8 * MIB, 7), 0, 8 * MIB, 0);
    await full.close();
    expect(await allocatedRanges(dense)).toEqual([{ offset: 0, length: 8 * MIB }]);
    const small = join(dir, 'small');
    const tiny = await open(small, 'w');
    await tiny.write(Buffer.from('boot sector'), 0, 11, 0);
    await tiny.close();
    expect(await allocatedRanges(small)).toEqual([{ offset: 0, length: 11 }]);
  });

  it('is unknown for a file that cannot be read, so the copy reads it all (and fails as it would have)', async () => {
    expect(await allocatedRanges(join(dir, 'missing'))).toBeUndefined();
  });
});
