// QEMU processes for tests: a child of the test process (so it is reaped when it dies) with a QMP socket under a
// temporary directory.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QmpClient, type QemuDriver, type TestGuest } from '@ferry/compute/drivers';

export interface TestQemu {
  dir: string;
  qmpPath: string;
  pid: number;
  alive(): boolean;
  /** Kills QEMU (if it still runs) and removes its directory. */
  stop(): Promise<void>;
}

/** Where tests keep what is slow to build and safe to share between runs (the test guest). */
export const TEST_CACHE_DIR = join(tmpdir(), 'ferry-test-cache');

/** A QEMU with no machine at all (`-machine none`): enough for the monitor, its commands and its run-state events. */
export function startBareQemu(): Promise<TestQemu> {
  return startQemu(['-machine', 'none']);
}

export interface GuestQemu extends TestQemu {
  /** What the guest printed on its serial console so far, by line. */
  serial(): Promise<string[]>;
}

/**
 * The test guest booted with memoryMb of RAM under TCG (this kind of machine has a /dev/kvm that accepts a guest and
 * then runs it far slower than TCG), its console in a file.
 */
export async function startGuestQemu(guest: TestGuest, opts: { memoryMb?: number; dirtyKibPerSecond?: number; extraArgs?: string[] } = {}): Promise<GuestQemu> {
  const serialFile = `serial-${process.pid}-${Date.now()}.log`;
  const qemu = await startQemu(
    ['-machine', 'q35', '-accel', 'tcg', '-m', String(opts.memoryMb ?? 128), '-kernel', guest.kernel, '-initrd', guest.initrd,
      '-append', guest.append({ dirtyKibPerSecond: opts.dirtyKibPerSecond }), ...(opts.extraArgs ?? [])],
    (dir) => ['-serial', `file:${join(dir, serialFile)}`],
  );
  return { ...qemu, serial: async () => (await readFile(join(qemu.dir, serialFile), 'utf8').catch(() => '')).split('\n') };
}

async function startQemu(args: string[], inDir: (dir: string) => string[] = () => []): Promise<TestQemu> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-qemu-'));
  const qmpPath = join(dir, 'qmp.sock');
  const child = spawn('qemu-system-x86_64', [...args, ...inDir(dir), '-nodefaults', '-display', 'none', '-qmp', `unix:${qmpPath},server=on,wait=off`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = once(child, 'exit');
  const alive = () => child.exitCode === null && child.signalCode === null;
  // The socket file appears before QEMU listens on it: ready once a connection is accepted.
  for (let i = 0; !(await accepts(qmpPath)); i++) {
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

/** Whether something accepts a connection on the unix socket at path now. */
function accepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Runs a qemu-io command on a running VM's root drive through its monitor (as if the guest wrote it); its output. */
export async function qemuIo(driver: QemuDriver, uuid: string, command: string): Promise<string> {
  const qmp = await QmpClient.connect(driver.qmpPath(uuid));
  try {
    return await qmp.execute<string>('human-monitor-command', { 'command-line': `qemu-io root "${command}"` }, { timeoutMs: 120_000 });
  } finally {
    await qmp.close();
  }
}
