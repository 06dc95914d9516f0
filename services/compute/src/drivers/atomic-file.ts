// Files a driver keeps beside its guests (definitions, armed faults), written so a reader never sees half of one.
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';

/**
 * Writes `data` to `path` via a temporary file and a rename, so a reader (or a compute restarted after a
 * crash) sees the old content or the new one, never half of either. No fsync: the files must survive the
 * compute process dying, not the machine.
 */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
