// Finds the parts of a buffer that hold data, so a copy can skip the all-zero blocks of a sparse disk.

const zeroBlocks = new Map<number, Buffer>();

function zeroBlock(size: number): Buffer {
  let block = zeroBlocks.get(size);
  if (!block) zeroBlocks.set(size, (block = Buffer.alloc(size)));
  return block;
}

/** A run of bytes [start, end) within one buffer. */
export interface Extent {
  readonly start: number;
  readonly end: number;
}

/**
 * The extents of buf, in blockSize steps, that contain any non-zero byte; adjacent data blocks form one
 * extent. Node offers no SEEK_DATA/SEEK_HOLE, and reading a hole costs no I/O, so scanning is the portable way.
 */
export function dataExtents(buf: Buffer, blockSize: number): Extent[] {
  const zero = zeroBlock(blockSize);
  const extents: { start: number; end: number }[] = [];
  for (let start = 0; start < buf.length; start += blockSize) {
    const end = Math.min(start + blockSize, buf.length);
    if (zero.compare(buf, start, end, 0, end - start) === 0) continue;
    const last = extents[extents.length - 1];
    if (last && last.end === start) last.end = end;
    else extents.push({ start, end });
  }
  return extents;
}
