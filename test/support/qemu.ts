// QEMU processes for tests: a child of the test process (so it is reaped when it dies) with a QMP socket under a
// temporary directory.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestQemu {
  dir: string;
  qmpPath: string;
  pid: number;
  alive(): boolean;
  /** Kills QEMU (if it still runs) and removes its directory. */
  stop(): Promise<void>;
}

/** A QEMU with no machine at all (`-machine none`): enough for the monitor, its commands and its run-state events. */
export async function startBareQemu(): Promise<TestQemu> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-qemu-'));
  const qmpPath = join(dir, 'qmp.sock');
  const child = spawn('qemu-system-x86_64', ['-machine', 'none', '-nodefaults', '-display', 'none', '-qmp', `unix:${qmpPath},server=on,wait=off`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = once(child, 'exit');
  const alive = () => child.exitCode === null && child.signalCode === null;
  for (let i = 0; !(await access(qmpPath).then(() => true, () => false)); i++) {
    if (!alive() || i > 250) {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
      throw new Error(`QEMU did not open its QMP socket: ${stderr.trim() || 'no message'}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    dir, qmpPath, pid: child.pid!, alive,
    async stop() {
      if (alive()) {
        child.kill('SIGCONT');
        child.kill('SIGKILL');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
