// Where a file holds data, as its filesystem knows it (SEEK_DATA/SEEK_HOLE, asked through `qemu-img map`): a copy
// reads only those regions of a sparse disk instead of reading its holes as zeros.
import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { normalizeRanges, type ByteRange } from './byte-ranges';

const run = promisify(execFile);

/**
 * Files this small are read whole: their layout is not worth a process, and a filesystem may keep such a file's data
 * inline, in no block of its own (ext4 and btrfs do, up to a few KiB), which st_blocks would show as empty.
 */
const SMALL_FILE_BYTES = 64 * 1024;

/**
 * The regions of the file at path that may hold data (holes excluded), normalized; undefined when they cannot be
 * known (qemu-img missing, or it failed), and the caller then reads the whole file.
 */
export async function allocatedRanges(path: string): Promise<ByteRange[] | undefined> {
  try {
    // Two answers need no map, and so no qemu-img process (whose fork costs a large process ~10 ms of its event
    // loop): a disk that occupies no blocks holds no data, and one that occupies at least its size has no holes
    // (st_blocks counts data not yet written back too: ext4, XFS and btrfs include delayed allocations).
    const { size, blocks } = await stat(path);
    if (size <= SMALL_FILE_BYTES) return size === 0 ? [] : [{ offset: 0, length: size }];
    if (blocks === 0) return [];
    if (blocks * 512 >= size) return [{ offset: 0, length: size }];
    // -U: the file may be a disk a guest is using; only its layout is read.
    const { stdout } = await run('qemu-img', ['map', '-U', '-f', 'raw', '--output=json', path], { maxBuffer: 256 << 20 });
    const map = JSON.parse(stdout) as { start: number; length: number; data: boolean }[];
    return normalizeRanges(map.filter((e) => e.data).map((e) => ({ offset: e.start, length: e.length })));
  } catch {
    return undefined;
  }
}
