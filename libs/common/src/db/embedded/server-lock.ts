// Says which process serves an embedded database: a pid file created exclusively, reclaimed when its process is gone.
import { open, readFile, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ServerLock {
  readonly file: string;
  release(): Promise<void>;
}

export type LockAttempt = { acquired: true; lock: ServerLock } | { acquired: false; pid: number };

/** Takes the lock, or reports the live process holding it. A lock left by a dead process is removed. */
export async function acquireServerLock(file: string): Promise<LockAttempt> {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fh = await open(file, 'wx', 0o600);
      try {
        await fh.writeFile(`${process.pid}\n`);
      } finally {
        await fh.close();
      }
      return { acquired: true, lock: { file, release: () => releaseIfOurs(file) } };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = await readHolder(file);
    if (pid !== null && isAlive(pid)) return { acquired: false, pid };
    await rm(file, { force: true });
  }
  throw new Error(`could not take the embedded database lock ${file}`);
}

/** The pid in the lock file; waits briefly for a holder that has created the file but not yet written it. */
async function readHolder(file: string, attempts = 10): Promise<number | null> {
  for (let i = 0; i < attempts; i++) {
    const text = await readFile(file, 'utf8').catch(() => '');
    const pid = Number.parseInt(text.trim(), 10);
    if (Number.isInteger(pid) && pid > 0) return pid;
    if (i + 1 < attempts) await sleep(50);
  }
  return null;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function releaseIfOurs(file: string): Promise<void> {
  if ((await readHolder(file, 1)) === process.pid) await rm(file, { force: true });
}
