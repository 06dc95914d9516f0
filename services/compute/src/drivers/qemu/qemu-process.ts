// One QEMU process per guest, daemonized so it outlives the compute that started it: how it is started, and how a
// compute (restarted or not) finds it again from its pidfile, without mistaking a reused pid or a zombie for it.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { DriverError } from '../errors';

const run = promisify(execFile);

/** Longest path a unix socket may have (sun_path, less its terminating NUL). */
const MAX_SOCKET_PATH = 107;

export interface QemuLaunch {
  uuid: string;
  name: string;
  vcpus: number;
  memoryMb: number;
  accel: 'kvm' | 'tcg';
  kernel: string;
  initrd: string;
  append: string;
  /** Disks in boot order (a rescue disk first, while rescued); id names the drive in QMP commands. */
  disks: { id: string; file: string }[];
  qmpPath: string;
  /** A second monitor, for a long-running job (a live migration) that must not hold the first one. */
  jobQmpPath: string;
  pidfile: string;
  serialLog: string;
  /** Starts paused, its state arriving later by `migrate-incoming` (-incoming defer), and stays paused until `cont` (-S). */
  incoming?: boolean;
}

export class QemuStartFailed extends DriverError {
  override readonly code = 'QemuStartFailed';
}

/** The command line of one guest's QEMU. */
export function qemuArgs(l: QemuLaunch): string[] {
  const longest = [l.qmpPath, l.jobQmpPath].reduce((a, b) => (b.length > a.length ? b : a));
  if (longest.length > MAX_SOCKET_PATH) {
    throw new QemuStartFailed(`QMP socket path ${longest} is ${longest.length} bytes, over the ${MAX_SOCKET_PATH} a unix socket allows: use a shorter state dir`, {
      instance_uuid: l.uuid,
    });
  }
  return [
    '-name', `guest=${l.name}`, '-uuid', l.uuid, '-machine', 'q35', '-accel', l.accel, '-m', String(l.memoryMb), '-smp', String(l.vcpus),
    '-kernel', l.kernel, '-initrd', l.initrd, '-append', l.append,
    ...l.disks.flatMap((d) => ['-drive', `file=${d.file},if=virtio,format=qcow2,id=${d.id}`]),
    '-nodefaults', '-display', 'none', '-serial', `file:${l.serialLog}`,
    '-qmp', `unix:${l.qmpPath},server=on,wait=off`, '-qmp', `unix:${l.jobQmpPath},server=on,wait=off`, '-daemonize', '-pidfile', l.pidfile,
    ...(l.incoming ? ['-incoming', 'defer', '-S'] : []),
  ];
}

/** Starts the guest's QEMU; resolves once it has daemonized (its QMP socket is then open). */
export async function startQemu(binary: string, l: QemuLaunch): Promise<void> {
  try {
    await run(binary, qemuArgs(l));
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new QemuStartFailed(`QEMU for instance ${l.uuid} did not start: ${(e.stderr ?? e.message).trim()}`, { instance_uuid: l.uuid });
  }
}

/**
 * The pid of the guest's QEMU when it runs: the pidfile names a live process (not a zombie nobody reaped) whose
 * command line carries the guest's uuid. Undefined otherwise.
 */
export async function runningPid(pidfile: string, uuid: string): Promise<number | undefined> {
  const pid = Number((await readFile(pidfile, 'utf8').catch(() => '')).trim());
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  try {
    const [stat, cmdline] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile(`/proc/${pid}/cmdline`, 'utf8')]);
    if (/^\d+ \(.*\) [ZX]/s.test(stat)) return undefined;
    return cmdline.split('\0').includes(uuid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Kills the guest's QEMU (if it runs) and waits until it is gone. */
export async function killQemu(pidfile: string, uuid: string, timeoutMs = 10_000): Promise<void> {
  const pid = await runningPid(pidfile, uuid);
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while ((await runningPid(pidfile, uuid)) !== undefined) {
    if (Date.now() > deadline) throw new DriverError(`QEMU ${pid} of instance ${uuid} did not die within ${timeoutMs} ms`, { instance_uuid: uuid });
    await new Promise((r) => setTimeout(r, 20));
  }
}
