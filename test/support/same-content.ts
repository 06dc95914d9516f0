// Whether two sparse files hold the same bytes, read only where either holds data.
import { open, stat } from 'node:fs/promises';
import { allocatedRanges, normalizeRanges, splitRanges } from '@ferry/compute/transfer';

const MIB = 1024 * 1024;

/**
 * Whether two files hold the same bytes, compared where either holds data (SEEK_DATA/SEEK_HOLE): elsewhere both are
 * holes, which read as zeros. Verifies a 20 GiB sparse copy without reading 20 GiB of zeros twice.
 */
export async function sameContent(a: string, b: string): Promise<boolean> {
  if ((await stat(a)).size !== (await stat(b)).size) return false;
  const [ra, rb] = [await allocatedRanges(a), await allocatedRanges(b)];
  if (!ra || !rb) throw new Error(`cannot map the allocated regions of ${a} or ${b}`);
  const [fa, fb] = [await open(a, 'r'), await open(b, 'r')];
  try {
    const [x, y] = [Buffer.alloc(MIB), Buffer.alloc(MIB)];
    for (const piece of splitRanges(normalizeRanges([...ra, ...rb]), MIB)) {
      x.fill(0);
      y.fill(0);
      await fa.read(x, 0, piece.length, piece.offset);
      await fb.read(y, 0, piece.length, piece.offset);
      if (!x.subarray(0, piece.length).equals(y.subarray(0, piece.length))) return false;
    }
    return true;
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}
