// The qemu driver's guests: one QEMU process per VM, found again from its pidfile and driven over its QMP socket, so
// guests outlive the compute that started them and a restarted compute takes them over. A VM is its definition
// (domain.json, from the database) and a qcow2 overlay over its image's base; it boots the test guest's kernel and
// initramfs with that disk attached (Ferry's image catalog carries no bootable content of its own).
// Moves (cold and live) are not part of this driver yet: it implements GuestDriver, and FERRY_DRIVER=qemu is refused.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { loadavg, uptime } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { POWER_STATES, type PowerState } from '@ferry/common/domain';
import { writeFileAtomic } from '../atomic-file';
import type { GuestDriver, HostInfo, HostOptions, RebootKind, VmInfo, VmSpec } from '../driver';
import { DiskNotFound, DriverError, VmInvalidState, VmNotFound } from '../errors';
import { instanceDirs, instancesDirOf, storageIdOf } from '../instance-paths';
import type { GuestPresence } from '../live-migration';
import { uptimeLine } from '../uptime-line';
import { QmpClient } from './qmp';
import { killQemu, runningPid, startQemu } from './qemu-process';
import { ensureTestGuest, type TestGuest } from './test-guest';

const run = promisify(execFile);

export interface QemuDriverOptions extends HostOptions {
  /** kvm or tcg (default tcg: this kind of machine's /dev/kvm runs guests far slower than TCG). */
  accel?: 'kvm' | 'tcg';
  /** Where the test guest is built and kept (default `<state dir>/cache`). */
  cacheDir?: string;
  /** Milliseconds a managed save or restore of a guest's memory may take (default 120000). */
  saveTimeoutMs?: number;
}

/** The definition of a VM as this host keeps it: what the database said when it was (re)defined. */
interface Domain {
  uuid: string;
  name: string;
  vcpus: number;
  memory_mb: number;
  root_gb: number;
  image_ref: string;
  rescue_image_ref: string | null;
}

type QemuState = 'running' | 'paused' | 'incoming' | 'shutdown' | 'crashed' | 'suspended';

/** QEMU's run states (query-status), as a Nova power state sees them. */
const STATE_OF_STATUS: Record<string, QemuState> = {
  running: 'running', paused: 'paused', 'io-error': 'paused', 'save-vm': 'paused', 'restore-vm': 'paused', 'finish-migrate': 'paused',
  postmigrate: 'paused', prelaunch: 'paused', debug: 'paused', watchdog: 'paused', colo: 'paused', inmigrate: 'incoming',
  shutdown: 'shutdown', 'internal-error': 'crashed', 'guest-panicked': 'crashed', suspended: 'suspended',
};

const POWER_STATE_OF: Record<QemuState, PowerState> = {
  running: POWER_STATES.RUNNING, paused: POWER_STATES.PAUSED, incoming: POWER_STATES.PAUSED, shutdown: POWER_STATES.SHUTDOWN,
  crashed: POWER_STATES.CRASHED, suspended: POWER_STATES.SUSPENDED,
};

const PRESENCE_OF: Record<QemuState, GuestPresence> = {
  running: 'running', paused: 'paused', incoming: 'incoming', shutdown: 'stopped', crashed: 'stopped', suspended: 'stopped',
};

const DOMAIN_FILE = 'domain.json';
const DISK_FILE = 'disk';
const RESCUE_DISK_FILE = 'rescue-disk';
const SAVED_MEMORY_FILE = 'saved-memory';
const BLANK_BASE_BYTES = 1024 ** 3;

export class QemuDriver implements GuestDriver {
  readonly type = 'qemu';
  readonly hostDir: string;
  readonly instancesDir: string;
  private readonly runDir: string;
  private readonly imagesDir: string;
  private guest?: Promise<TestGuest>;
  /** Operations on one VM run one at a time. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly opts: QemuDriverOptions) {
    this.hostDir = join(opts.stateDir, 'hosts', opts.host);
    this.instancesDir = instancesDirOf(opts.stateDir, opts.host);
    this.runDir = join(this.hostDir, 'run');
    this.imagesDir = join(this.hostDir, 'images');
  }

  vmDir(uuid: string): string {
    return join(this.instancesDir, uuid);
  }

  diskPath(uuid: string): string {
    return join(this.vmDir(uuid), DISK_FILE);
  }

  /** The VM's QMP socket: kept short (a unix socket path has at most 107 bytes). */
  qmpPath(uuid: string): string {
    return join(this.runDir, `${uuid}.qmp`);
  }

  /** What the guest printed on its serial console. */
  consoleLog(uuid: string): string {
    return join(this.vmDir(uuid), 'console.log');
  }

  async init(): Promise<void> {
    for (const dir of [this.instancesDir, this.runDir, this.imagesDir]) await mkdir(dir, { recursive: true });
  }

  async hostInfo(): Promise<HostInfo> {
    return {
      hypervisor_hostname: this.opts.host,
      hypervisor_type: 'QEMU',
      vcpus: this.opts.vcpus,
      memory_mb: this.opts.memoryMb,
      local_gb: this.opts.diskGb,
      cpu_model: this.opts.cpuModel ?? 'qemu64',
      storage_id: await storageIdOf(this.instancesDir),
      capabilities: { supports_live_migrate_rescued: false },
    };
  }

  async hostUptime(): Promise<string> {
    return uptimeLine({ now: new Date(), upSeconds: uptime(), users: 0, loadavg: loadavg() });
  }

  spawn(spec: VmSpec): Promise<void> {
    return this.serialized(spec.uuid, async () => {
      if (await this.domain(spec.uuid)) return;
      await mkdir(this.vmDir(spec.uuid), { recursive: true });
      await this.createOverlay(spec.image_ref, this.diskPath(spec.uuid), spec.flavor.root_gb);
      // The definition is written last: a directory without one is a spawn cut short, not a VM.
      const domain = domainOf(spec);
      await this.writeDomain(domain);
      await this.boot(domain);
    });
  }

  destroy(uuid: string): Promise<void> {
    return this.serialized(uuid, async () => {
      await killQemu(this.pidfile(uuid), uuid);
      await rm(this.qmpPath(uuid), { force: true });
      await rm(this.vmDir(uuid), { recursive: true, force: true });
    });
  }

  powerOff(uuid: string): Promise<void> {
    return this.change(uuid, async (state) => {
      if (state === 'shutdown') return;
      await this.stop(uuid);
      await rm(join(this.vmDir(uuid), SAVED_MEMORY_FILE), { force: true });
    });
  }

  powerOn(uuid: string): Promise<void> {
    return this.change(uuid, async (state, domain) => {
      if (state === 'running') return;
      this.expect(uuid, 'power_on', state, ['shutdown', 'crashed']);
      await this.stop(uuid);
      await this.boot(domain);
    });
  }

  /** There is no guest agent to ask for a clean reboot: both kinds reset the machine, or boot it when it is not running. */
  reboot(uuid: string, _kind: RebootKind): Promise<void> {
    return this.change(uuid, async (state, domain) => {
      if (state === 'running' || state === 'paused') {
        await this.withQmp(uuid, async (qmp) => {
          await qmp.execute('system_reset');
          if (state === 'paused') await qmp.execute('cont');
        });
        return;
      }
      await this.stop(uuid);
      await rm(join(this.vmDir(uuid), SAVED_MEMORY_FILE), { force: true });
      await this.boot(domain);
    });
  }

  pause(uuid: string): Promise<void> {
    return this.change(uuid, async (state) => {
      if (state === 'paused') return;
      this.expect(uuid, 'pause', state, ['running']);
      await this.withQmp(uuid, (qmp) => qmp.execute('stop'));
    });
  }

  unpause(uuid: string): Promise<void> {
    return this.change(uuid, async (state) => {
      if (state === 'running') return;
      this.expect(uuid, 'unpause', state, ['paused']);
      await this.withQmp(uuid, (qmp) => qmp.execute('cont'));
    });
  }

  /** libvirt's managed save: the guest's memory goes to a file beside its disk, then its QEMU quits. */
  suspend(uuid: string): Promise<void> {
    return this.change(uuid, async (state) => {
      if (state === 'suspended') return;
      this.expect(uuid, 'suspend', state, ['running']);
      const saved = join(this.vmDir(uuid), SAVED_MEMORY_FILE);
      const partial = `${saved}.partial`;
      await this.withQmp(uuid, async (qmp) => {
        await qmp.execute('stop');
        await qmp.execute('migrate', { uri: `exec:cat > ${shellQuoted(partial)}` });
        await this.migrationDone(qmp, uuid, 'save');
      });
      await rename(partial, saved);
      await this.stop(uuid);
    });
  }

  /** Starts the guest's QEMU waiting for its memory, feeds it the saved file, and lets it run on from there. */
  resume(uuid: string): Promise<void> {
    return this.change(uuid, async (state, domain) => {
      if (state === 'running') return;
      this.expect(uuid, 'resume', state, ['suspended']);
      const saved = join(this.vmDir(uuid), SAVED_MEMORY_FILE);
      await this.boot(domain, { incoming: true });
      await this.withQmp(uuid, async (qmp) => {
        await qmp.execute('migrate-incoming', { uri: `exec:cat ${shellQuoted(saved)}` });
        await this.untilStatus(qmp, uuid, (s) => s !== 'inmigrate', 'restore');
        if ((await this.status(qmp)) !== 'running') await qmp.execute('cont');
      });
      await rm(saved, { force: true });
    });
  }

  rescue(spec: VmSpec, rescueImageRef: string): Promise<void> {
    return this.serialized(spec.uuid, async () => {
      const domain = await this.requireDomain(spec.uuid);
      if (domain.rescue_image_ref === rescueImageRef && (await this.state(spec.uuid)) === 'running') return;
      await this.stop(spec.uuid);
      const rescueDisk = join(this.vmDir(spec.uuid), RESCUE_DISK_FILE);
      await rm(rescueDisk, { force: true });
      await this.createOverlay(rescueImageRef, rescueDisk, 0);
      const rescued = { ...domain, rescue_image_ref: rescueImageRef };
      await this.writeDomain(rescued);
      await this.boot(rescued);
    });
  }

  unrescue(spec: VmSpec): Promise<void> {
    return this.serialized(spec.uuid, async () => {
      const domain = await this.requireDomain(spec.uuid);
      if (!domain.rescue_image_ref && (await this.state(spec.uuid)) === 'running') return;
      await this.stop(spec.uuid);
      await rm(join(this.vmDir(spec.uuid), RESCUE_DISK_FILE), { force: true });
      // The definition comes from the database, not from what the rescue left on this host.
      const restored = { ...domainOf(spec), rescue_image_ref: null };
      await this.writeDomain(restored);
      await this.boot(restored);
    });
  }

  redefine(spec: VmSpec): Promise<void> {
    return this.serialized(spec.uuid, async () => {
      if (await this.domain(spec.uuid)) return;
      if (!(await exists(this.diskPath(spec.uuid)))) {
        throw new DiskNotFound(`Instance ${spec.uuid} has no disk on host ${this.opts.host} (${this.diskPath(spec.uuid)}); its definition is not rebuilt over an empty one.`, {
          instance_uuid: spec.uuid, host: this.opts.host,
        });
      }
      await this.writeDomain({ ...domainOf(spec), rescue_image_ref: null });
    });
  }

  async listVms(): Promise<VmInfo[]> {
    const vms: VmInfo[] = [];
    for (const uuid of await this.listHeldInstances()) {
      const vm = await this.getVm(uuid);
      if (vm) vms.push(vm);
    }
    return vms;
  }

  listHeldInstances(): Promise<string[]> {
    return instanceDirs(this.instancesDir);
  }

  async getVm(uuid: string): Promise<VmInfo | undefined> {
    const domain = await this.domain(uuid);
    if (!domain) return undefined;
    const state = await this.state(uuid);
    return { uuid, name: domain.name, power_state: POWER_STATE_OF[state], vcpus: domain.vcpus, memory_mb: domain.memory_mb, root_gb: domain.root_gb };
  }

  async guestPresence(uuid: string): Promise<GuestPresence> {
    if (!(await this.domain(uuid))) return 'absent';
    return PRESENCE_OF[await this.state(uuid)];
  }

  // ---- one VM

  /** Runs op on the VM's definition and state, one operation at a time per VM; VmNotFound when it has none. */
  private change(uuid: string, op: (state: QemuState, domain: Domain) => Promise<void>): Promise<void> {
    return this.serialized(uuid, async () => {
      const domain = await this.requireDomain(uuid);
      await op(await this.state(uuid), domain);
    });
  }

  private expect(uuid: string, op: string, state: QemuState, from: readonly QemuState[]): void {
    if (from.includes(state)) return;
    throw new VmInvalidState(`Cannot ${op} instance ${uuid} on host ${this.opts.host}: it is ${state}`, { instance_uuid: uuid, state, operation: op });
  }

  private serialized<T>(uuid: string, op: () => Promise<T>): Promise<T> {
    const next = (this.queues.get(uuid) ?? Promise.resolve()).then(op, op);
    const settled = next.catch(() => undefined);
    this.queues.set(uuid, settled);
    void settled.then(() => {
      if (this.queues.get(uuid) === settled) this.queues.delete(uuid);
    });
    return next;
  }

  /** The VM's state now: from QEMU when it runs, else suspended (its memory saved) or shut off. */
  private async state(uuid: string): Promise<QemuState> {
    if ((await runningPid(this.pidfile(uuid), uuid)) === undefined) {
      return (await exists(join(this.vmDir(uuid), SAVED_MEMORY_FILE))) ? 'suspended' : 'shutdown';
    }
    try {
      return STATE_OF_STATUS[await this.withQmp(uuid, (qmp) => this.status(qmp))] ?? 'paused';
    } catch (err) {
      // QEMU died between the two looks: it is off.
      if ((await runningPid(this.pidfile(uuid), uuid)) === undefined) return 'shutdown';
      throw err;
    }
  }

  private async status(qmp: QmpClient): Promise<string> {
    return (await qmp.execute<{ status: string }>('query-status')).status;
  }

  private async boot(domain: Domain, opts: { incoming?: boolean } = {}): Promise<void> {
    const guest = await (this.guest ??= ensureTestGuest(this.opts.cacheDir ?? join(this.opts.stateDir, 'cache')));
    const dir = this.vmDir(domain.uuid);
    await rm(this.qmpPath(domain.uuid), { force: true });
    await startQemu('qemu-system-x86_64', {
      uuid: domain.uuid, name: domain.name, vcpus: domain.vcpus, memoryMb: domain.memory_mb, accel: this.opts.accel ?? 'tcg',
      kernel: guest.kernel, initrd: guest.initrd, append: guest.append(),
      disks: domain.rescue_image_ref ? [join(dir, RESCUE_DISK_FILE), this.diskPath(domain.uuid)] : [this.diskPath(domain.uuid)],
      qmpPath: this.qmpPath(domain.uuid), pidfile: this.pidfile(domain.uuid), serialLog: this.consoleLog(domain.uuid), incoming: opts.incoming,
    });
  }

  /** Ends the VM's QEMU: `quit` over QMP, or a kill when it does not answer. */
  private async stop(uuid: string): Promise<void> {
    if ((await runningPid(this.pidfile(uuid), uuid)) === undefined) return;
    await this.withQmp(uuid, (qmp) => qmp.execute('quit')).catch(() => undefined);
    await killQemu(this.pidfile(uuid), uuid);
  }

  private async withQmp<T>(uuid: string, op: (qmp: QmpClient) => Promise<T>): Promise<T> {
    const qmp = await QmpClient.connect(this.qmpPath(uuid));
    try {
      return await op(qmp);
    } finally {
      await qmp.close();
    }
  }

  /** Waits for an outgoing migration (a managed save) to complete; throws when it fails or takes too long. */
  private async migrationDone(qmp: QmpClient, uuid: string, what: string): Promise<void> {
    const deadline = Date.now() + (this.opts.saveTimeoutMs ?? 120_000);
    for (;;) {
      const m = await qmp.execute<{ status?: string; 'error-desc'?: string }>('query-migrate');
      if (m.status === 'completed') return;
      if (m.status === 'failed' || m.status === 'cancelled') {
        throw new DriverError(`The ${what} of instance ${uuid} on host ${this.opts.host} failed: ${m['error-desc'] ?? m.status}`, { instance_uuid: uuid });
      }
      if (Date.now() > deadline) throw new DriverError(`The ${what} of instance ${uuid} on host ${this.opts.host} timed out`, { instance_uuid: uuid });
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async untilStatus(qmp: QmpClient, uuid: string, done: (status: string) => boolean, what: string): Promise<void> {
    const deadline = Date.now() + (this.opts.saveTimeoutMs ?? 120_000);
    while (!done(await this.status(qmp))) {
      if (Date.now() > deadline) throw new DriverError(`The ${what} of instance ${uuid} on host ${this.opts.host} timed out`, { instance_uuid: uuid });
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private pidfile(uuid: string): string {
    return join(this.vmDir(uuid), 'qemu.pid');
  }

  private async domain(uuid: string): Promise<Domain | undefined> {
    try {
      return JSON.parse(await readFile(join(this.vmDir(uuid), DOMAIN_FILE), 'utf8')) as Domain;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw err;
    }
  }

  private async requireDomain(uuid: string): Promise<Domain> {
    const domain = await this.domain(uuid);
    if (!domain) throw VmNotFound.forUuid(uuid, this.opts.host);
    return domain;
  }

  private writeDomain(domain: Domain): Promise<void> {
    return writeFileAtomic(join(this.vmDir(domain.uuid), DOMAIN_FILE), `${JSON.stringify(domain, null, 2)}\n`);
  }

  // ---- disks

  /** A qcow2 overlay at path over the image's base (root_gb GiB; 0 keeps the base's size). */
  private async createOverlay(imageRef: string, path: string, rootGb: number): Promise<void> {
    const base = await this.baseImage(imageRef);
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', base, path, ...(rootGb > 0 ? [`${rootGb}G`] : [])]);
  }

  /** The image's base in this host's cache: blank, as the catalog's images carry no content here. Made once. */
  private async baseImage(imageRef: string): Promise<string> {
    const base = join(this.imagesDir, `${createHash('sha256').update(imageRef).digest('hex').slice(0, 16)}.qcow2`);
    if (await exists(base)) return base;
    const partial = `${base}.${process.pid}.partial`;
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', partial, String(BLANK_BASE_BYTES)]);
    await rename(partial, base);
    return base;
  }
}

function domainOf(spec: VmSpec): Domain {
  return {
    uuid: spec.uuid, name: spec.name, vcpus: spec.flavor.vcpus, memory_mb: spec.flavor.memory_mb, root_gb: spec.flavor.root_gb,
    image_ref: spec.image_ref, rescue_image_ref: null,
  };
}

function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

/** A path as one word of a shell command line (QEMU runs `exec:` migrations through /bin/sh). */
function shellQuoted(path: string): string {
  return `'${path.replace(/'/g, `'\\''`)}'`;
}
