// The fake's stand-in for QEMU's NBD mirror in a block migration: the regions of the source disk that hold data
// copied, data blocks only, into the disk the destination's Prepare made (and named in its cookie), in place, with
// progress and cancellation.
import { open, stat, type FileHandle } from 'node:fs/promises';
import { allocatedRanges } from '../../transfer/allocated-ranges';
import { clampRanges, splitRanges, totalLength, type ByteRange } from '../../transfer/byte-ranges';
import { dataExtents } from '../../transfer/zero-blocks';
import { DriverError } from '../errors';

const CHUNK_BYTES = 1024 * 1024;
const BLOCK_BYTES = 64 * 1024;
/** Above this size no filesystem keeps a file's data inline (ext4 and btrfs do up to a few KiB). */
const INLINE_DATA_MAX_BYTES = 64 * 1024;

/** What a block copy of a disk moves: the regions of it that hold data (SEEK_DATA/SEEK_HOLE), and their total. */
export interface BlockCopyPlan {
  readonly size: number;
  readonly regions: readonly ByteRange[];
  /** Bytes the copy reads: what disk_total reports. */
  readonly bytes: number;
}

/** The plan for copying the disk at path: its allocated regions, or all of it when they cannot be known. */
export async function planBlockCopy(path: string): Promise<BlockCopyPlan> {
  const { size } = await stat(path);
  const regions = clampRanges((await allocatedRanges(path)) ?? [{ offset: 0, length: size }], size);
  return { size, regions, bytes: totalLength(regions) };
}

export interface BlockCopyOptions {
  /** Checked between chunks: once aborted the copy stops and rejects with the signal's reason. */
  signal: AbortSignal;
  /** Called after each chunk with the bytes of the plan's regions covered so far. */
  onProgress: (processed: number) => void;
}

/**
 * Copies source over dest, which must exist: dest is emptied, sized as source, and only the non-zero blocks of the
 * plan's regions are written, so it stays as sparse as the source. Resolves with the bytes covered (plan.bytes).
 */
export async function copyBlockDevice(source: string, dest: string, plan: BlockCopyPlan, o: BlockCopyOptions): Promise<number> {
  const from = await open(source, 'r');
  let to: FileHandle | undefined;
  try {
    to = await open(dest, 'r+').catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      throw new DriverError(`block migration target ${dest} does not exist (the destination prepares it)`, { dest_path: dest });
    });
    // Nothing of an earlier, interrupted copy may survive where the source has holes. A target holding no blocks (as
    // the destination's Prepare makes it) has nothing to clear and is only sized: truncating it to zero first would
    // also make ext4 write the whole copy back when it is closed (auto_da_alloc), which for a disk's scattered
    // extents costs more than the copy. A small file may keep its data inline, in no block: it is cleared anyway.
    if (await mayHoldData(to)) await to.truncate(0);
    await to.truncate(plan.size);
    const buf = Buffer.alloc(CHUNK_BYTES);
    let processed = 0;
    for (const piece of splitRanges(plan.regions, CHUNK_BYTES)) {
      o.signal.throwIfAborted();
      const chunk = await readAt(from, buf, piece.offset, piece.length);
      for (const extent of dataExtents(chunk, BLOCK_BYTES)) await writeAt(to, chunk.subarray(extent.start, extent.end), piece.offset + extent.start);
      processed += chunk.length;
      o.onProgress(processed);
    }
    return plan.bytes;
  } finally {
    await Promise.all([from.close(), to?.close()]);
  }
}

/** Whether the file may hold data: it occupies blocks, or it is small enough to keep its data inline. */
async function mayHoldData(handle: FileHandle): Promise<boolean> {
  const { blocks, size } = await handle.stat();
  return blocks > 0 || size <= INLINE_DATA_MAX_BYTES;
}

async function readAt(handle: FileHandle, buf: Buffer, offset: number, length: number): Promise<Buffer> {
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buf, filled, length - filled, offset + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  // A file that shrank under the copy reads as zeros past its end, as a hole would.
  buf.fill(0, filled, length);
  return buf.subarray(0, length);
}

async function writeAt(handle: FileHandle, data: Buffer, offset: number): Promise<void> {
  for (let done = 0; done < data.length;) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, offset + done);
    done += bytesWritten;
  }
}
