// One host's QEMU guests: where their files live (instances/<uuid>/), this host's definitions of them (domains/), the
// QEMU process of each (pidfile, QMP sockets and live definition under run/), and the steps every operation builds on
// (boot, stop, kill, state from query-status), run one at a time per VM. The driver's operations and the moves' phases
// are written on top of it.
import { join, resolve } from 'node:path';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { writeFileAtomic } from '../atomic-file';
import type { HostOptions } from '../driver';
import { DriverError, VmInvalidState, VmNotFound } from '../errors';
import { instancesDirOf } from '../instance-paths';
import type { PortRange } from './migration-ports';
import { exists, QemuDisks } from './qemu-disks';
import { domainDrives, RESCUE_DRIVE, ROOT_DRIVE, STATE_OF_STATUS, type Domain, type QemuState } from './qemu-domain';
import { killQemu, runningPid, startQemu } from './qemu-process';
import { QmpClient } from './qmp';
import { ensureTestGuest, type TestGuest } from './test-guest';

export interface QemuDriverOptions extends HostOptions {
  /** kvm or tcg (default tcg: this kind of machine's /dev/kvm runs guests far slower than TCG). */
  accel?: 'kvm' | 'tcg';
  /** Where the test guest is built and kept (default `<state dir>/cache`). */
  cacheDir?: string;
  /** Milliseconds a managed save or restore of a guest's memory may take (default 120000). */
  saveTimeoutMs?: number;
  /** Address this host's incoming migrations listen on, as the source reaches it (default 127.0.0.1). */
  migrationAddress?: string;
  /** Ports incoming migrations (and their disk exports) may listen on (default 49152-49261, libvirt's range). */
  migrationPorts?: PortRange;
  /** Bytes per second a live migration may use (default 1 GiB/s). */
  migrationBandwidth?: number;
  /** Milliseconds between two looks at a running migration (default 100). */
  migrationPollMs?: number;
}

const DISK_FILE = 'disk';
/** The overlay a cold move's snapshot puts over the disk: what the guest writes during pass 1. */
const PASS2_FILE = 'disk.pass2';
const RESCUE_DISK_FILE = 'rescue-disk';
const SAVED_MEMORY_FILE = 'saved-memory';
const OWNER_FILE = 'owner';

export class QemuHost {
  readonly hostDir: string;
  readonly instancesDir: string;
  readonly disks: QemuDisks;
  private readonly runDir: string;
  private readonly domainsDir: string;
  private guest?: Promise<TestGuest>;
  /** Operations on one VM run one at a time. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(readonly opts: QemuDriverOptions) {
    // QEMU daemonizes into /: every path it is given is absolute.
    const stateDir = resolve(opts.stateDir);
    this.hostDir = join(stateDir, 'hosts', opts.host);
    this.instancesDir = instancesDirOf(stateDir, opts.host);
    this.runDir = join(this.hostDir, 'run');
    this.domainsDir = join(this.hostDir, 'domains');
    this.disks = new QemuDisks(join(this.hostDir, 'images'));
  }

  get name(): string {
    return this.opts.host;
  }

  async init(): Promise<void> {
    for (const dir of [this.instancesDir, this.runDir, this.domainsDir, this.disks.imagesDir]) await mkdir(dir, { recursive: true });
  }

  // ---- where things are

  vmDir(uuid: string): string {
    return join(this.instancesDir, uuid);
  }

  diskPath(uuid: string): string {
    return join(this.vmDir(uuid), DISK_FILE);
  }

  /** This host's definition of the VM. */
  domainPath(uuid: string): string {
    return join(this.domainsDir, `${uuid}.json`);
  }

  /** The VM's QMP socket: kept short (a unix socket path has at most 107 bytes). */
  qmpPath(uuid: string): string {
    return join(this.runDir, `${uuid}.qmp`);
  }

  /** The second monitor, held by a running live migration alone. */
  jobQmpPath(uuid: string): string {
    return join(this.runDir, `${uuid}.job`);
  }

  /** What the guest printed on its serial console on this host. */
  consoleLog(uuid: string): string {
    return join(this.runDir, `${uuid}.log`);
  }

  /** Where the VM's QEMU writes its pid on this host. */
  pidfile(uuid: string): string {
    return join(this.runDir, `${uuid}.pid`);
  }

  /** The definition the running QEMU was started from (libvirt's live XML): what a VM without a definition runs. */
  liveDomainPath(uuid: string): string {
    return join(this.runDir, `${uuid}.json`);
  }

  /** Where a cold move's overlay over the disk is. */
  pass2Path(uuid: string): string {
    return join(this.vmDir(uuid), PASS2_FILE);
  }

  /** A suspended guest's memory. */
  savedMemoryPath(uuid: string): string {
    return join(this.vmDir(uuid), SAVED_MEMORY_FILE);
  }

  rescueDiskPath(uuid: string): string {
    return join(this.vmDir(uuid), RESCUE_DISK_FILE);
  }

  driveFile(uuid: string, drive: string): string {
    return drive === RESCUE_DRIVE ? this.rescueDiskPath(uuid) : this.diskPath(uuid);
  }

  /** The instances with a definition here or a pidfile (a QEMU that runs, or ran) here. */
  async definedOrStarted(): Promise<string[]> {
    const named = async (dir: string, suffix: string) => (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith(suffix)).map((f) => f.slice(0, -suffix.length));
    return [...(await named(this.domainsDir, '.json')), ...(await named(this.runDir, '.pid'))];
  }

  // ---- definitions

  domain(uuid: string): Promise<Domain | undefined> {
    return readJson<Domain>(this.domainPath(uuid));
  }

  /** The definition a running QEMU was started from; undefined when none runs. */
  async liveDomain(uuid: string): Promise<Domain | undefined> {
    return (await this.runs(uuid)) ? readJson<Domain>(this.liveDomainPath(uuid)) : undefined;
  }

  async requireDomain(uuid: string): Promise<Domain> {
    const domain = await this.domain(uuid);
    if (!domain) throw VmNotFound.forUuid(uuid, this.opts.host);
    return domain;
  }

  writeDomain(domain: Domain): Promise<void> {
    return writeFileAtomic(this.domainPath(domain.uuid), `${JSON.stringify(domain, null, 2)}\n`);
  }

  writeLiveDomain(domain: Domain): Promise<void> {
    return writeFileAtomic(this.liveDomainPath(domain.uuid), `${JSON.stringify({ ...domain, incoming: null })}\n`);
  }

  // ---- files on shared storage

  /** Whether the instance's files are this host's: it owns them, or nobody does yet (a disk still arriving). */
  async ownsFiles(uuid: string): Promise<boolean> {
    const owner = (await readFile(join(this.vmDir(uuid), OWNER_FILE), 'utf8').catch(() => '')).trim();
    return owner === '' || owner === this.opts.host;
  }

  claimFiles(uuid: string): Promise<void> {
    return writeFileAtomic(join(this.vmDir(uuid), OWNER_FILE), `${this.opts.host}\n`);
  }

  // ---- one VM at a time

  serialized<T>(uuid: string, op: () => Promise<T>): Promise<T> {
    const next = (this.queues.get(uuid) ?? Promise.resolve()).then(op, op);
    const settled = next.catch(() => undefined);
    this.queues.set(uuid, settled);
    void settled.then(() => {
      if (this.queues.get(uuid) === settled) this.queues.delete(uuid);
    });
    return next;
  }

  /** Runs op on the VM's definition and state, one operation at a time per VM; VmNotFound when it has none. */
  change(uuid: string, op: (state: QemuState, domain: Domain) => Promise<void>): Promise<void> {
    return this.serialized(uuid, async () => {
      const domain = await this.requireDomain(uuid);
      await op(await this.state(uuid), domain);
    });
  }

  expect(uuid: string, op: string, state: QemuState, from: readonly QemuState[]): void {
    if (from.includes(state)) return;
    throw new VmInvalidState(`Cannot ${op} instance ${uuid} on host ${this.opts.host}: it is ${state}`, { instance_uuid: uuid, state, operation: op });
  }

  // ---- its QEMU

  async runs(uuid: string): Promise<boolean> {
    return (await runningPid(this.pidfile(uuid), uuid)) !== undefined;
  }

  /** The VM's state now: from QEMU when it runs, else suspended (its memory saved) or shut off. */
  async state(uuid: string): Promise<QemuState> {
    if (!(await this.runs(uuid))) return (await exists(this.savedMemoryPath(uuid))) ? 'suspended' : 'shutdown';
    try {
      return STATE_OF_STATUS[await this.withQmp(uuid, (qmp) => status(qmp))] ?? 'paused';
    } catch (err) {
      // QEMU died between the two looks: it is off.
      if (!(await this.runs(uuid))) return 'shutdown';
      throw err;
    }
  }

  async boot(domain: Domain, opts: { incoming?: boolean } = {}): Promise<void> {
    const guest = await (this.guest ??= ensureTestGuest(this.opts.cacheDir ?? join(this.opts.stateDir, 'cache')));
    // A cold move's overlay left over a disk that is off (the move failed after the guest stopped) belongs in it. Not
    // for an incoming live migration: on shared storage the disk is still the running source's.
    if (!domain.incoming) await this.disks.foldInto(this.pass2Path(domain.uuid), this.diskPath(domain.uuid));
    for (const path of [this.qmpPath(domain.uuid), this.jobQmpPath(domain.uuid)]) await rm(path, { force: true });
    await this.writeLiveDomain(domain);
    await startQemu('qemu-system-x86_64', {
      uuid: domain.uuid, name: domain.name, vcpus: domain.vcpus, memoryMb: domain.memory_mb, accel: this.opts.accel ?? 'tcg',
      kernel: guest.kernel, initrd: guest.initrd, append: guest.append(),
      disks: domainDrives(domain).map((d) => ({ id: d.id, file: this.driveFile(domain.uuid, d.id) })),
      qmpPath: this.qmpPath(domain.uuid), jobQmpPath: this.jobQmpPath(domain.uuid), pidfile: this.pidfile(domain.uuid),
      serialLog: this.consoleLog(domain.uuid), incoming: opts.incoming,
    });
  }

  /** Ends the VM's QEMU: `quit` over QMP, or a kill when it does not answer. */
  async stop(uuid: string): Promise<void> {
    if (await this.runs(uuid)) await this.withQmp(uuid, (qmp) => qmp.execute('quit')).catch(() => undefined);
    await this.kill(uuid);
  }

  /** Kills the VM's QEMU (if it runs) and removes what it kept under run/. */
  async kill(uuid: string): Promise<void> {
    await killQemu(this.pidfile(uuid), uuid);
    for (const path of [this.qmpPath(uuid), this.jobQmpPath(uuid), this.liveDomainPath(uuid), this.pidfile(uuid)]) await rm(path, { force: true });
  }

  async withQmp<T>(uuid: string, op: (qmp: QmpClient) => Promise<T>): Promise<T> {
    const qmp = await QmpClient.connect(this.qmpPath(uuid));
    try {
      return await op(qmp);
    } finally {
      await qmp.close();
    }
  }

  /** Waits for an outgoing migration (a managed save) to complete; throws when it fails or takes too long. */
  async migrationDone(qmp: QmpClient, uuid: string, what: string): Promise<void> {
    await this.untilMigration(qmp, uuid, (s) => s === 'completed' || s === 'failed' || s === 'cancelled', what);
    const m = await qmp.execute<{ status?: string; 'error-desc'?: string }>('query-migrate');
    if (m.status !== 'completed') {
      throw new DriverError(`The ${what} of instance ${uuid} on host ${this.opts.host} failed: ${m['error-desc'] ?? m.status}`, { instance_uuid: uuid });
    }
  }

  untilMigration(qmp: QmpClient, uuid: string, done: (status: string) => boolean, what = 'migration'): Promise<void> {
    return this.until(uuid, what, async () => done((await qmp.execute<{ status?: string }>('query-migrate')).status ?? 'none'));
  }

  untilStatus(qmp: QmpClient, uuid: string, done: (status: string) => boolean, what: string, everyMs = 20): Promise<void> {
    return this.until(uuid, what, async () => done(await status(qmp)), everyMs);
  }

  private async until(uuid: string, what: string, done: () => Promise<boolean>, everyMs = 20): Promise<void> {
    const deadline = Date.now() + (this.opts.saveTimeoutMs ?? 120_000);
    while (!(await done())) {
      if (Date.now() > deadline) throw new DriverError(`The ${what} of instance ${uuid} on host ${this.opts.host} timed out`, { instance_uuid: uuid });
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  /**
   * A running guest whose disk sits under a cold move's overlay (the move failed, or this compute restarted while it
   * copied) gets the overlay folded back in while it runs: an active commit, then a pivot onto the disk.
   */
  async foldLive(uuid: string): Promise<void> {
    if (!(await exists(this.pass2Path(uuid))) || !(await this.runs(uuid))) return;
    await this.withQmp(uuid, async (qmp) => {
      const jobId = `ferry-fold-${ROOT_DRIVE}`;
      const ready = qmp.waitForEvent('BLOCK_JOB_READY', 120_000, (e) => e.data.device === jobId);
      await qmp.execute('block-commit', { 'job-id': jobId, device: ROOT_DRIVE });
      await ready;
      const completed = qmp.waitForEvent('BLOCK_JOB_COMPLETED', 120_000, (e) => e.data.device === jobId);
      await qmp.execute('block-job-complete', { device: jobId });
      await completed;
    });
    await rm(this.pass2Path(uuid), { force: true });
  }
}

/** QEMU's run state (query-status). */
export async function status(qmp: QmpClient): Promise<string> {
  return (await qmp.execute<{ status: string }>('query-status')).status;
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}
