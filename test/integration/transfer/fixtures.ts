// Disk files for transfer tests: sparse files with a few random extents, checksums, and what a file really occupies.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';

export const MIB = 1024 * 1024;

export interface Region {
  readonly offset: number;
  readonly length: number;
}

/** A sparse file of size bytes: holes except for random data in the given regions. */
export async function makeSparseDisk(path: string, size: number, regions: readonly Region[]): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.truncate(size);
    for (const r of regions) await handle.write(randomBytes(r.length), 0, r.length, r.offset);
  } finally {
    await handle.close();
  }
}

/** Writes fresh random data over each region (what a guest does to its disk between the two passes). */
export async function scribble(path: string, regions: readonly Region[]): Promise<void> {
  await overwrite(path, regions, (length) => randomBytes(length));
}

/** Zeroes each region (a guest discarding or wiping data). */
export async function zeroOut(path: string, regions: readonly Region[]): Promise<void> {
  await overwrite(path, regions, (length) => Buffer.alloc(length));
}

async function overwrite(path: string, regions: readonly Region[], data: (length: number) => Buffer): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    for (const r of regions) await handle.write(data(r.length), 0, r.length, r.offset);
  } finally {
    await handle.close();
  }
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: MIB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The bytes of a region of a file. */
export async function readRegion(path: string, r: Region): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(r.length);
    await handle.read(buf, 0, r.length, r.offset);
    return buf;
  } finally {
    await handle.close();
  }
}

/** Bytes the file system allocated to the file (holes take none). */
export async function allocatedBytes(path: string): Promise<number> {
  return (await stat(path)).blocks * 512;
}
