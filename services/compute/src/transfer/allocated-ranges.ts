// Where a file holds data, as its filesystem knows it (SEEK_DATA/SEEK_HOLE, asked through `qemu-img map`): a copy
// reads only those regions of a sparse disk instead of reading its holes as zeros.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { normalizeRanges, type ByteRange } from './byte-ranges';

const run = promisify(execFile);

/**
 * The regions of the file at path that may hold data (holes excluded), normalized; undefined when they cannot be
 * known (qemu-img missing, or it failed), and the caller then reads the whole file.
 */
export async function allocatedRanges(path: string): Promise<ByteRange[] | undefined> {
  try {
    // -U: the file may be a disk a guest is using; only its layout is read.
    const { stdout } = await run('qemu-img', ['map', '-U', '-f', 'raw', '--output=json', path], { maxBuffer: 256 << 20 });
    const map = JSON.parse(stdout) as { start: number; length: number; data: boolean }[];
    return normalizeRanges(map.filter((e) => e.data).map((e) => ({ offset: e.start, length: e.length })));
  } catch {
    return undefined;
  }
}
