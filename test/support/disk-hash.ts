// The sha256 of a disk image's first bytes, for tests that prove a move kept the disk intact.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

const CHUNK = 8 * 1024 * 1024;

/** sha256 of the first `length` bytes of a file, a short file read as if padded with zeros (a grown disk compares over the original size). */
export async function sha256(path: string, length: number): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(CHUNK);
    for (let at = 0; at < length; at += buf.length) {
      const n = Math.min(buf.length, length - at);
      const { bytesRead } = await handle.read(buf, 0, n, at);
      hash.update(buf.subarray(0, bytesRead));
      if (bytesRead < n) hash.update(Buffer.alloc(n - bytesRead));
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}
