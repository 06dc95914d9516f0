// The qemu driver: one QEMU process per VM, found again from its pidfile and driven over its QMP socket, so guests
// outlive the compute that started them and a restarted compute takes them over. As with libvirt, a host keeps its
// own definitions (domains/<uuid>.json, from the database) apart from the instances' files (instances/<uuid>/: a
// qcow2 overlay over a cached base, which hosts may share), and a running VM's live definition under run/. On shared
// storage an instance's directory names the host whose guest uses it (its `owner` file): only that host removes it. A VM
// boots the test guest's kernel and initramfs with its disks attached (the image catalog carries no bootable content).
// Moves: cold migration copies the disk in two passes (an external snapshot freezes it while the guest runs; the
// small overlay above it follows once the guest is off); live migration runs QEMU's own (tcp, NBD + drive-mirror for
// the disks when storage is not shared).
import { loadavg, uptime } from 'node:os';
import { join, resolve } from 'node:path';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { POWER_STATES, type PowerState } from '@ferry/common/domain';
import { writeFileAtomic } from '../atomic-file';
import type { DirtyTracker, Driver, HostInfo, HostOptions, RebootKind, VmInfo, VmSpec } from '../driver';
import { DiskNotFound, DriverError, VmInvalidState, VmNotFound } from '../errors';
import { instanceDirs, instancesDirOf, storageIdOf } from '../instance-paths';
import type { GuestPresence, LiveMigrationJob, LiveMigrationOptions, MigrationCookie } from '../live-migration';
import { uptimeLine } from '../uptime-line';
import { withFreePort, type PortRange } from './migration-ports';
import { exists, QemuDisks } from './qemu-disks';
import { QemuLiveMigrationJob } from './qemu-live-job';
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

/** The definition of a VM as this host keeps it: what the database said when it was (re)defined. */
interface Domain {
  uuid: string;
  name: string;
  vcpus: number;
  memory_mb: number;
  root_gb: number;
  image_ref: string;
  rescue_image_ref: string | null;
  /** Set from Prepare until Finish: the VM is an incoming live migration's, and never ran here. */
  incoming?: IncomingMigration | null;
}

interface IncomingMigration {
  from: string;
  shared_storage: boolean;
  block: boolean;
  port?: number;
  nbd_port?: number;
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

const DISK_FILE = 'disk';
/** The overlay a cold move's snapshot puts over the disk: what the guest writes during pass 1. */
const PASS2_FILE = 'disk.pass2';
const RESCUE_DISK_FILE = 'rescue-disk';
const SAVED_MEMORY_FILE = 'saved-memory';
const OWNER_FILE = 'owner';
const ROOT_DRIVE = 'root';
const RESCUE_DRIVE = 'rescue';
const MIGRATION_STATES_ACTIVE = new Set(['setup', 'active', 'pre-switchover', 'device', 'postcopy-active', 'postcopy-paused', 'postcopy-recover', 'wait-unplug']);

export class QemuDriver implements Driver {
  readonly type = 'qemu';
  readonly hostDir: string;
  readonly instancesDir: string;
  private readonly runDir: string;
  private readonly domainsDir: string;
  private readonly imagesDir: string;
  private readonly disks: QemuDisks;
  private guest?: Promise<TestGuest>;
  /** Operations on one VM run one at a time. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly opts: QemuDriverOptions) {
    // QEMU daemonizes into /: every path it is given is absolute.
    const stateDir = resolve(opts.stateDir);
    this.hostDir = join(stateDir, 'hosts', opts.host);
    this.instancesDir = instancesDirOf(stateDir, opts.host);
    this.runDir = join(this.hostDir, 'run');
    this.domainsDir = join(this.hostDir, 'domains');
    this.imagesDir = join(this.hostDir, 'images');
    this.disks = new QemuDisks(this.imagesDir);
  }

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
  private jobQmpPath(uuid: string): string {
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
  private liveDomainPath(uuid: string): string {
    return join(this.runDir, `${uuid}.json`);
  }

  async init(): Promise<void> {
    for (const dir of [this.instancesDir, this.runDir, this.domainsDir, this.imagesDir]) await mkdir(dir, { recursive: true });
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
      capabilities: { supports_live_migrate_rescued: true },
    };
  }

  async hostUptime(): Promise<string> {
    return uptimeLine({ now: new Date(), upSeconds: uptime(), users: 0, loadavg: loadavg() });
  }

  spawn(spec: VmSpec): Promise<void> {
    return this.serialized(spec.uuid, async () => {
      if (await this.domain(spec.uuid)) return;
      await mkdir(this.vmDir(spec.uuid), { recursive: true });
      await this.disks.createOverlay(spec.image_ref, this.diskPath(spec.uuid), rootSize(spec.flavor.root_gb));
      await this.claimFiles(spec.uuid);
      // The definition is written last: a directory without one is a spawn cut short, not a VM.
      const domain = domainOf(spec);
      await this.writeDomain(domain);
      await this.boot(domain);
    });
  }

  /** Removes the VM here, and its files unless another host's guest uses them (shared storage). */
  destroy(uuid: string): Promise<void> {
    return this.serialized(uuid, async () => {
      await this.kill(uuid);
      if (await this.ownsFiles(uuid)) await rm(this.vmDir(uuid), { recursive: true, force: true });
      await rm(this.domainPath(uuid), { force: true });
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
      await this.disks.createOverlay(rescueImageRef, rescueDisk);
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

  renameGuest(uuid: string, name: string): Promise<void> {
    return this.serialized(uuid, async () => {
      const domain = (await this.domain(uuid)) ?? (await this.liveDomain(uuid));
      if (!domain) throw VmNotFound.forUuid(uuid, this.opts.host);
      if (domain.name === name) return;
      if (await this.domain(uuid)) await this.writeDomain({ ...domain, name });
      if (await this.liveDomain(uuid)) await writeFileAtomic(this.liveDomainPath(uuid), `${JSON.stringify({ ...domain, name })}\n`);
    });
  }

  persistDefinition(spec: VmSpec): Promise<void> {
    return this.serialized(spec.uuid, async () => {
      if (await this.domain(spec.uuid)) return;
      const live = await this.liveDomain(spec.uuid);
      if (!live) throw VmNotFound.forUuid(spec.uuid, this.opts.host);
      await this.writeDomain({ ...domainOf(spec), rescue_image_ref: live.rescue_image_ref });
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

  /** Instances with a definition here, a QEMU running here, or files in this host's instances directory it owns. */
  async listHeldInstances(): Promise<string[]> {
    const named = async (dir: string, suffix: string) => (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith(suffix)).map((f) => f.slice(0, -suffix.length));
    const all = new Set([...(await instanceDirs(this.instancesDir)), ...(await named(this.domainsDir, '.json')), ...(await named(this.runDir, '.pid'))]);
    const held: string[] = [];
    for (const uuid of [...all].sort()) {
      if ((await this.domain(uuid)) || (await this.runs(uuid)) || ((await exists(this.vmDir(uuid))) && (await this.ownsFiles(uuid)))) held.push(uuid);
    }
    return held;
  }

  async getVm(uuid: string): Promise<VmInfo | undefined> {
    const domain = await this.domain(uuid);
    const live = domain ? undefined : await this.liveDomain(uuid);
    const d = domain ?? live;
    if (!d) return undefined;
    const state = await this.state(uuid);
    return {
      uuid, name: d.name, power_state: POWER_STATE_OF[state], vcpus: d.vcpus, memory_mb: d.memory_mb, root_gb: d.root_gb, ...(live ? { transient: true } : {}),
    };
  }

  async guestPresence(uuid: string): Promise<GuestPresence> {
    const domain = await this.domain(uuid);
    if (domain?.incoming) return 'incoming';
    if (!domain && !(await this.liveDomain(uuid))) return 'absent';
    return PRESENCE_OF[await this.state(uuid)];
  }

  // ---- cold migration

  /**
   * Freezes the running VM's disk under a new overlay (an external snapshot): the disk no longer changes, so the
   * ranges are empty, and what the guest writes from now on is in pendingDiskFiles(). When the move ends with the
   * guest still running (it failed), stop() folds the overlay back into the disk while the guest runs.
   */
  async trackDirtyRegions(uuid: string): Promise<DirtyTracker> {
    await this.serialized(uuid, async () => {
      await this.requireDomain(uuid);
      if (!(await this.runs(uuid))) return;
      await this.foldLive(uuid);
      await this.withQmp(uuid, (qmp) => qmp.execute('blockdev-snapshot-sync', { device: ROOT_DRIVE, 'snapshot-file': this.pass2Path(uuid), format: 'qcow2' }));
    });
    let stopped = false;
    return {
      ranges: () => [],
      stop: () => {
        if (stopped) return;
        stopped = true;
        void this.serialized(uuid, () => this.foldLive(uuid)).catch(() => undefined);
      },
    };
  }

  async pendingDiskFiles(uuid: string): Promise<string[]> {
    return (await exists(this.pass2Path(uuid))) ? [this.pass2Path(uuid)] : [];
  }

  async prepareIncoming(uuid: string): Promise<string> {
    await mkdir(this.vmDir(uuid), { recursive: true });
    return this.diskPath(uuid);
  }

  finishIncoming(spec: VmSpec, opts: { powerOn: boolean }): Promise<void> {
    return this.serialized(spec.uuid, async () => {
      const domain = await this.domain(spec.uuid);
      if (domain) {
        if (opts.powerOn && (await this.state(spec.uuid)) === 'shutdown') await this.boot(domain);
        return;
      }
      const disk = this.diskPath(spec.uuid);
      if (!(await exists(disk))) {
        throw new VmNotFound(`Instance ${spec.uuid} has no disk copied in on host ${this.opts.host} (${disk}).`, { instance_uuid: spec.uuid, host: this.opts.host });
      }
      await this.disks.adoptOverlay(spec.image_ref, disk);
      await this.disks.foldInto(this.pass2Path(spec.uuid), disk);
      await this.disks.growTo(disk, spec.flavor.root_gb);
      await this.claimFiles(spec.uuid);
      const defined = domainOf(spec);
      await this.writeDomain(defined);
      if (opts.powerOn) await this.boot(defined);
    });
  }

  // ---- live migration

  async liveMigrationBegin(uuid: string, opts: LiveMigrationOptions): Promise<MigrationCookie> {
    return this.serialized(uuid, async () => {
      const domain = await this.requireDomain(uuid);
      this.expect(uuid, 'live-migrate', await this.state(uuid), ['running', 'paused']);
      await this.foldLive(uuid);
      const drives = await this.drives(domain);
      return {
        source_host: this.opts.host, storage_id: await storageIdOf(this.instancesDir), name: domain.name, image_ref: domain.image_ref,
        rescue_image_ref: domain.rescue_image_ref, drives, postcopy: opts.postCopyAllowed && !opts.blockMigration,
      };
    });
  }

  liveMigrationPrepare(spec: VmSpec, cookie: MigrationCookie, opts: { blockMigration: boolean }): Promise<MigrationCookie> {
    return this.serialized(spec.uuid, async () => {
      const shared = cookie.storage_id === (await storageIdOf(this.instancesDir));
      const existing = await this.domain(spec.uuid);
      if (existing?.incoming && (await this.runs(spec.uuid))) return this.preparedCookie(existing.incoming);
      if (existing && !existing.incoming) {
        throw new VmInvalidState(`Cannot prepare an incoming live migration of instance ${spec.uuid} on host ${this.opts.host}: it is already defined here`, {
          instance_uuid: spec.uuid, host: this.opts.host,
        });
      }
      if (shared === opts.blockMigration) {
        throw new DriverError(shared
          ? `Cannot block-migrate instance ${spec.uuid} to host ${this.opts.host}: it shares the instance's storage with ${String(cookie.source_host)}`
          : `Cannot live-migrate instance ${spec.uuid} to host ${this.opts.host} without block migration: it does not share ${String(cookie.source_host)}'s instance storage`,
        { instance_uuid: spec.uuid, host: this.opts.host });
      }
      const incoming: IncomingMigration = { from: String(cookie.source_host), shared_storage: shared, block: opts.blockMigration };
      const domain: Domain = { ...domainOf(spec), rescue_image_ref: spec.rescue_image_ref ?? null, name: typeof cookie.name === 'string' ? cookie.name : spec.name, incoming };
      // Defined first: whatever Prepare leaves, cut short or not, is an incoming VM that Finish(failure) removes.
      await this.writeDomain(domain);
      if (!shared) {
        await this.createIncomingDisks(domain, drivesOf(cookie));
        await this.claimFiles(spec.uuid);
      }
      await this.kill(spec.uuid);
      await this.boot(domain, { incoming: true });
      await this.withQmp(spec.uuid, async (qmp) => {
        if (cookie.postcopy === true) await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'postcopy-ram', state: true }] }).catch(() => undefined);
        const address = this.migrationAddress();
        incoming.port = await withFreePort(this.ports(), address, async (port) => {
          await qmp.execute('migrate-incoming', { uri: `tcp:${address}:${port}` });
          return port;
        });
        if (opts.blockMigration) {
          incoming.nbd_port = await withFreePort(this.ports(), address, async (port) => {
            await qmp.execute('nbd-server-start', { addr: { type: 'inet', data: { host: address, port: String(port) } } });
            return port;
          }, new Set([incoming.port]));
          for (const drive of domainDrives(domain)) await qmp.execute('nbd-server-add', { device: drive.id, writable: true });
        }
      });
      await this.writeDomain({ ...domain, incoming });
      return this.preparedCookie(incoming);
    });
  }

  liveMigrationPerform(uuid: string, cookie: MigrationCookie, opts: LiveMigrationOptions): Promise<LiveMigrationJob> {
    return this.serialized(uuid, async () => {
      const domain = await this.requireDomain(uuid);
      this.expect(uuid, 'live-migrate', await this.state(uuid), ['running', 'paused']);
      const address = typeof cookie.address === 'string' ? cookie.address : undefined;
      if (!address || typeof cookie.port !== 'number') {
        throw new DriverError(`Cannot live-migrate instance ${uuid}: the destination named no address to migrate to`, { instance_uuid: uuid, dest_host: opts.destHost });
      }
      if (opts.blockMigration && typeof cookie.nbd_port !== 'number') {
        throw new DriverError(`Cannot block-migrate instance ${uuid}: the destination exported no disks`, { instance_uuid: uuid, dest_host: opts.destHost });
      }
      const qmp = await QmpClient.connect(this.jobQmpPath(uuid));
      return new QemuLiveMigrationJob({
        uuid, host: this.opts.host, qmp, uri: `tcp:${address}:${cookie.port}`,
        mirrors: opts.blockMigration ? domainDrives(domain).map((d) => ({ drive: d.id, target: `nbd://${address}:${String(cookie.nbd_port)}/${d.id}` })) : [],
        maxDowntimeMs: opts.maxDowntimeMs, maxBandwidthBytes: Math.min(this.opts.migrationBandwidth ?? 1024 ** 3, opts.bandwidthBytesPerSec ?? Infinity),
        autoConverge: opts.autoConverge, postCopyAllowed: opts.postCopyAllowed, pollMs: this.opts.migrationPollMs ?? 100,
        cookie: { source_host: this.opts.host, dest_host: opts.destHost },
      });
    });
  }

  liveMigrationFinish(uuid: string, cookie: MigrationCookie, opts: { success: boolean; paused: boolean }): Promise<MigrationCookie> {
    return this.serialized(uuid, async () => {
      const domain = await this.domain(uuid);
      if (!opts.success) {
        // Only an incoming VM is removed: a VM that already took over here is the live copy, not this migration's leftover.
        if (domain?.incoming) await this.dropIncoming(domain);
        return {};
      }
      if (!domain) throw VmNotFound.forUuid(uuid, this.opts.host);
      if (!domain.incoming) return { dest_host: this.opts.host };
      if (!(await this.runs(uuid))) {
        throw new DriverError(`The incoming QEMU of instance ${uuid} on host ${this.opts.host} has exited: the migration did not arrive`, { instance_uuid: uuid });
      }
      const resumedAt = await this.withQmp(uuid, async (qmp) => {
        // The guest is paused at both ends until this resumes it: look often.
        await this.untilStatus(qmp, uuid, (s) => s !== 'inmigrate', 'incoming migration', 2);
        if (domain.incoming?.block) await qmp.execute('nbd-server-stop').catch(() => undefined);
        if (opts.paused || (await this.status(qmp)) === 'running') return undefined;
        const resumed = qmp.waitForEvent('RESUME', 10_000);
        await qmp.execute('cont');
        return (await resumed).at;
      });
      // The guest runs here now: on shared storage its files become this host's.
      await this.claimFiles(uuid);
      await this.writeDomain({ ...domain, incoming: null });
      const stoppedAt = typeof cookie.stopped_at === 'number' ? cookie.stopped_at : undefined;
      return { dest_host: this.opts.host, ...(resumedAt !== undefined && stoppedAt !== undefined ? { downtime_ms: resumedAt - stoppedAt } : {}) };
    });
  }

  liveMigrationConfirm(uuid: string, _cookie: MigrationCookie, opts: { success: boolean; paused: boolean }): Promise<void> {
    return this.serialized(uuid, async () => {
      const domain = await this.domain(uuid);
      if (opts.success) {
        await this.kill(uuid);
        // Confirmed before (the definition is gone), nothing of the files is this host's to touch any more.
        if (!domain) return;
        if (await this.ownsFiles(uuid)) await rm(this.vmDir(uuid), { recursive: true, force: true });
        await rm(this.domainPath(uuid), { force: true });
        return;
      }
      if (!domain) throw VmNotFound.forUuid(uuid, this.opts.host);
      if (await this.runs(uuid)) {
        await this.withQmp(uuid, async (qmp) => {
          const m = await qmp.execute<{ status?: string }>('query-migrate');
          if (m.status && MIGRATION_STATES_ACTIVE.has(m.status)) {
            await qmp.execute('migrate_cancel');
            await this.untilMigration(qmp, uuid, (s) => !MIGRATION_STATES_ACTIVE.has(s));
          }
          const jobs = await qmp.execute<{ device: string }[]>('query-block-jobs');
          for (const job of jobs) await qmp.execute('block-job-cancel', { device: job.device, force: true }).catch(() => undefined);
          // The source resumes as it was (QEMU leaves it paused once its transfer completed); paused stays paused.
          if (!opts.paused && (await this.status(qmp)) !== 'running') await qmp.execute('cont');
        });
      }
    });
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

  private async runs(uuid: string): Promise<boolean> {
    return (await runningPid(this.pidfile(uuid), uuid)) !== undefined;
  }

  /** The VM's state now: from QEMU when it runs, else suspended (its memory saved) or shut off. */
  private async state(uuid: string): Promise<QemuState> {
    if (!(await this.runs(uuid))) {
      return (await exists(join(this.vmDir(uuid), SAVED_MEMORY_FILE))) ? 'suspended' : 'shutdown';
    }
    try {
      return STATE_OF_STATUS[await this.withQmp(uuid, (qmp) => this.status(qmp))] ?? 'paused';
    } catch (err) {
      // QEMU died between the two looks: it is off.
      if (!(await this.runs(uuid))) return 'shutdown';
      throw err;
    }
  }

  private async status(qmp: QmpClient): Promise<string> {
    return (await qmp.execute<{ status: string }>('query-status')).status;
  }

  private async boot(domain: Domain, opts: { incoming?: boolean } = {}): Promise<void> {
    const guest = await (this.guest ??= ensureTestGuest(this.opts.cacheDir ?? join(this.opts.stateDir, 'cache')));
    // A cold move's overlay left over a disk that is off (the move failed after the guest stopped) belongs in it. Not
    // for an incoming live migration: on shared storage the disk is still the running source's.
    if (!domain.incoming) await this.disks.foldInto(this.pass2Path(domain.uuid), this.diskPath(domain.uuid));
    for (const path of [this.qmpPath(domain.uuid), this.jobQmpPath(domain.uuid)]) await rm(path, { force: true });
    await writeFileAtomic(this.liveDomainPath(domain.uuid), `${JSON.stringify({ ...domain, incoming: null })}\n`);
    await startQemu('qemu-system-x86_64', {
      uuid: domain.uuid, name: domain.name, vcpus: domain.vcpus, memoryMb: domain.memory_mb, accel: this.opts.accel ?? 'tcg',
      kernel: guest.kernel, initrd: guest.initrd, append: guest.append(),
      disks: domainDrives(domain).map((d) => ({ id: d.id, file: this.driveFile(domain.uuid, d.id) })),
      qmpPath: this.qmpPath(domain.uuid), jobQmpPath: this.jobQmpPath(domain.uuid), pidfile: this.pidfile(domain.uuid),
      serialLog: this.consoleLog(domain.uuid), incoming: opts.incoming,
    });
  }

  /** Ends the VM's QEMU: `quit` over QMP, or a kill when it does not answer. */
  private async stop(uuid: string): Promise<void> {
    if (await this.runs(uuid)) await this.withQmp(uuid, (qmp) => qmp.execute('quit')).catch(() => undefined);
    await this.kill(uuid);
  }

  /** Kills the VM's QEMU (if it runs) and removes what it kept under run/. */
  private async kill(uuid: string): Promise<void> {
    await killQemu(this.pidfile(uuid), uuid);
    for (const path of [this.qmpPath(uuid), this.jobQmpPath(uuid), this.liveDomainPath(uuid), this.pidfile(uuid)]) await rm(path, { force: true });
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
    await this.untilMigration(qmp, uuid, (s) => s === 'completed' || s === 'failed' || s === 'cancelled', what);
    const m = await qmp.execute<{ status?: string; 'error-desc'?: string }>('query-migrate');
    if (m.status !== 'completed') {
      throw new DriverError(`The ${what} of instance ${uuid} on host ${this.opts.host} failed: ${m['error-desc'] ?? m.status}`, { instance_uuid: uuid });
    }
  }

  private untilMigration(qmp: QmpClient, uuid: string, done: (status: string) => boolean, what = 'migration'): Promise<void> {
    return this.until(uuid, what, async () => done((await qmp.execute<{ status?: string }>('query-migrate')).status ?? 'none'));
  }

  private untilStatus(qmp: QmpClient, uuid: string, done: (status: string) => boolean, what: string, everyMs = 20): Promise<void> {
    return this.until(uuid, what, async () => done(await this.status(qmp)), everyMs);
  }

  private async until(uuid: string, what: string, done: () => Promise<boolean>, everyMs = 20): Promise<void> {
    const deadline = Date.now() + (this.opts.saveTimeoutMs ?? 120_000);
    while (!(await done())) {
      if (Date.now() > deadline) throw new DriverError(`The ${what} of instance ${uuid} on host ${this.opts.host} timed out`, { instance_uuid: uuid });
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  private async domain(uuid: string): Promise<Domain | undefined> {
    return readJson<Domain>(this.domainPath(uuid));
  }

  /** The definition a running QEMU was started from; undefined when none runs. */
  private async liveDomain(uuid: string): Promise<Domain | undefined> {
    return (await this.runs(uuid)) ? readJson<Domain>(this.liveDomainPath(uuid)) : undefined;
  }

  private async requireDomain(uuid: string): Promise<Domain> {
    const domain = await this.domain(uuid);
    if (!domain) throw VmNotFound.forUuid(uuid, this.opts.host);
    return domain;
  }

  private writeDomain(domain: Domain): Promise<void> {
    return writeFileAtomic(this.domainPath(domain.uuid), `${JSON.stringify(domain, null, 2)}\n`);
  }

  // ---- disks of moves

  /** Whether the instance's files are this host's: it owns them, or nobody does yet (a disk still arriving). */
  private async ownsFiles(uuid: string): Promise<boolean> {
    const owner = (await readFile(join(this.vmDir(uuid), OWNER_FILE), 'utf8').catch(() => '')).trim();
    return owner === '' || owner === this.opts.host;
  }

  private claimFiles(uuid: string): Promise<void> {
    return writeFileAtomic(join(this.vmDir(uuid), OWNER_FILE), `${this.opts.host}\n`);
  }

  private pass2Path(uuid: string): string {
    return join(this.vmDir(uuid), PASS2_FILE);
  }

  private driveFile(uuid: string, drive: string): string {
    return drive === RESCUE_DRIVE ? join(this.vmDir(uuid), RESCUE_DISK_FILE) : this.diskPath(uuid);
  }

  /**
   * A running guest whose disk sits under a cold move's overlay (the move failed, or this compute restarted while it
   * copied) gets the overlay folded back in while it runs: an active commit, then a pivot onto the disk.
   */
  private async foldLive(uuid: string): Promise<void> {
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

  /** The drives the running source VM has, with the size each must have at the destination. */
  private async drives(domain: Domain): Promise<{ id: string; virtual_size: number }[]> {
    const drives: { id: string; virtual_size: number }[] = [];
    for (const d of domainDrives(domain)) drives.push({ id: d.id, virtual_size: await this.disks.virtualSize(this.driveFile(domain.uuid, d.id)) });
    return drives;
  }

  /** Empty overlays, of the source's sizes, for an incoming block migration's disks to be mirrored into. */
  private async createIncomingDisks(domain: Domain, sizes: Map<string, number>): Promise<void> {
    await mkdir(this.vmDir(domain.uuid), { recursive: true });
    for (const d of domainDrives(domain)) {
      const file = this.driveFile(domain.uuid, d.id);
      await rm(file, { force: true });
      await this.disks.createOverlay(d.imageRef, file, sizes.get(d.id));
    }
  }

  /** An incoming VM that never ran here: its QEMU, its files (unless the source's storage is this one), its definition. */
  private async dropIncoming(domain: Domain): Promise<void> {
    await this.kill(domain.uuid);
    if (!domain.incoming?.shared_storage && (await this.ownsFiles(domain.uuid))) await rm(this.vmDir(domain.uuid), { recursive: true, force: true });
    await rm(this.domainPath(domain.uuid), { force: true });
  }

  private preparedCookie(incoming: IncomingMigration): MigrationCookie {
    return {
      dest_host: this.opts.host, address: this.migrationAddress(), port: incoming.port, shared_storage: incoming.shared_storage,
      ...(incoming.nbd_port !== undefined ? { nbd_port: incoming.nbd_port } : {}),
    };
  }

  private migrationAddress(): string {
    return this.opts.migrationAddress ?? '127.0.0.1';
  }

  private ports(): PortRange {
    return this.opts.migrationPorts ?? { min: 49152, max: 49261 };
  }
}

function domainOf(spec: VmSpec): Domain {
  return {
    uuid: spec.uuid, name: spec.name, vcpus: spec.flavor.vcpus, memory_mb: spec.flavor.memory_mb, root_gb: spec.flavor.root_gb,
    image_ref: spec.image_ref, rescue_image_ref: null,
  };
}

/** The VM's drives in boot order, each with the image its overlay is over. */
function domainDrives(domain: Domain): { id: string; imageRef: string }[] {
  const root = { id: ROOT_DRIVE, imageRef: domain.image_ref };
  return domain.rescue_image_ref ? [{ id: RESCUE_DRIVE, imageRef: domain.rescue_image_ref }, root] : [root];
}

function drivesOf(cookie: MigrationCookie): Map<string, number> {
  const drives = Array.isArray(cookie.drives) ? (cookie.drives as { id: unknown; virtual_size: unknown }[]) : [];
  return new Map(drives.flatMap((d) => (typeof d.id === 'string' && typeof d.virtual_size === 'number' ? [[d.id, d.virtual_size] as const] : [])));
}

/** The root disk's size argument for qemu-img: the flavor's GiB, or the base's size when the flavor has none. */
function rootSize(rootGb: number): string | undefined {
  return rootGb > 0 ? `${rootGb}G` : undefined;
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

/** A path as one word of a shell command line (QEMU runs `exec:` migrations through /bin/sh). */
function shellQuoted(path: string): string {
  return `'${path.replace(/'/g, `'\\''`)}'`;
}
