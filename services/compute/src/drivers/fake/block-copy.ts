// The fake's stand-in for QEMU's NBD mirror in a block migration: the source disk copied, data blocks only, into
// the disk the destination's Prepare made (and named in its cookie), in place, with progress and cancellation.
import { open, type FileHandle } from 'node:fs/promises';
import { dataExtents } from '../../transfer/zero-blocks';
import { DriverError } from '../errors';

const CHUNK_BYTES = 1024 * 1024;
const BLOCK_BYTES = 64 * 1024;

export interface BlockCopyOptions {
  /** Checked between chunks: once aborted the copy stops and rejects with the signal's reason. */
  signal: AbortSignal;
  /** Called after each chunk with the bytes covered so far (data and holes alike). */
  onProgress: (processed: number) => void;
}

/**
 * Copies source over dest, which must exist: dest is emptied, sized as source, and only the non-zero blocks are
 * written, so it stays as sparse as the source. Resolves with the bytes covered (source's size).
 */
export async function copyBlockDevice(source: string, dest: string, o: BlockCopyOptions): Promise<number> {
  const from = await open(source, 'r');
  let to: FileHandle | undefined;
  try {
    const size = (await from.stat()).size;
    to = await open(dest, 'r+').catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      throw new DriverError(`block migration target ${dest} does not exist (the destination prepares it)`, { dest_path: dest });
    });
    // Nothing of an earlier, interrupted copy may survive where the source has holes.
    await to.truncate(0);
    await to.truncate(size);
    const buf = Buffer.alloc(CHUNK_BYTES);
    for (let offset = 0; offset < size; offset += CHUNK_BYTES) {
      o.signal.throwIfAborted();
      const chunk = await readAt(from, buf, offset, Math.min(CHUNK_BYTES, size - offset));
      for (const extent of dataExtents(chunk, BLOCK_BYTES)) await writeAt(to, chunk.subarray(extent.start, extent.end), offset + extent.start);
      o.onProgress(offset + chunk.length);
    }
    return size;
  } finally {
    await Promise.all([from.close(), to?.close()]);
  }
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
