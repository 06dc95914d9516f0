// The qemu driver: one QEMU process per VM, found again from its pidfile and driven over its QMP socket, so guests
// outlive the compute that started them and a restarted compute takes them over. As with libvirt, a host keeps its
// own definitions (domains/<uuid>.json, from the database) apart from the instances' files (instances/<uuid>/: a
// qcow2 overlay over a cached base, which hosts may share), and a running VM's live definition under run/. On shared
// storage an instance's directory names the host whose guest uses it (its `owner` file): only that host removes it. A VM
// boots the test guest's kernel and initramfs with its disks attached (the image catalog carries no bootable content).
// This file is the guests' own life (power, suspend, rescue, definitions, listing); the host's files and processes are
// in qemu-host.ts, cold moves in qemu-cold-move.ts, live migration's phases in qemu-live-migration.ts.
import { loadavg, uptime } from 'node:os';
import { mkdir, rename, rm } from 'node:fs/promises';
import type { DirtyTracker, Driver, HostInfo, RebootKind, VmInfo, VmSpec } from '../driver';
import { DiskNotFound, VmNotFound } from '../errors';
import { instanceDirs, storageIdOf } from '../instance-paths';
import type { LiveMigrationJob, LiveMigrationOptions } from '../live-migration';
import type { GuestPresence, MigrationCookie } from '../../client/wire-types';
import { uptimeLine } from '../uptime-line';
import { QemuColdMove } from './qemu-cold-move';
import { exists } from './qemu-disks';
import { domainOf, POWER_STATE_OF, PRESENCE_OF, rootSize } from './qemu-domain';
import { QemuHost, status, type QemuDriverOptions } from './qemu-host';
import { QemuLiveMigration } from './qemu-live-migration';

export type { QemuDriverOptions } from './qemu-host';

export class QemuDriver implements Driver {
  readonly type = 'qemu';
  private readonly host: QemuHost;
  private readonly cold: QemuColdMove;
  private readonly live: QemuLiveMigration;

  constructor(private readonly opts: QemuDriverOptions) {
    this.host = new QemuHost(opts);
    this.cold = new QemuColdMove(this.host);
    this.live = new QemuLiveMigration(this.host);
  }

  get hostDir(): string {
    return this.host.hostDir;
  }

  get instancesDir(): string {
    return this.host.instancesDir;
  }

  vmDir(uuid: string): string {
    return this.host.vmDir(uuid);
  }

  diskPath(uuid: string): string {
    return this.host.diskPath(uuid);
  }

  /** This host's definition of the VM. */
  domainPath(uuid: string): string {
    return this.host.domainPath(uuid);
  }

  /** The VM's QMP socket. */
  qmpPath(uuid: string): string {
    return this.host.qmpPath(uuid);
  }

  /** What the guest printed on its serial console on this host. */
  consoleLog(uuid: string): string {
    return this.host.consoleLog(uuid);
  }

  /** Where the VM's QEMU writes its pid on this host. */
  pidfile(uuid: string): string {
    return this.host.pidfile(uuid);
  }

  init(): Promise<void> {
    return this.host.init();
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
    return this.host.serialized(spec.uuid, async () => {
      if (await this.host.domain(spec.uuid)) return;
      await mkdir(this.vmDir(spec.uuid), { recursive: true });
      await this.host.disks.createOverlay(spec.image_ref, this.diskPath(spec.uuid), rootSize(spec.flavor.root_gb));
      await this.host.claimFiles(spec.uuid);
      // The definition is written last: a directory without one is a spawn cut short, not a VM.
      const domain = domainOf(spec);
      await this.host.writeDomain(domain);
      await this.host.boot(domain);
    });
  }

  /** Removes the VM here, and its files unless another host's guest uses them (shared storage). */
  destroy(uuid: string): Promise<void> {
    return this.host.serialized(uuid, async () => {
      await this.host.kill(uuid);
      if (await this.host.ownsFiles(uuid)) await rm(this.vmDir(uuid), { recursive: true, force: true });
      await rm(this.domainPath(uuid), { force: true });
    });
  }

  powerOff(uuid: string): Promise<void> {
    return this.host.change(uuid, async (state) => {
      if (state === 'shutdown') return;
      await this.host.stop(uuid);
      await rm(this.host.savedMemoryPath(uuid), { force: true });
    });
  }

  powerOn(uuid: string): Promise<void> {
    return this.host.change(uuid, async (state, domain) => {
      if (state === 'running') return;
      this.host.expect(uuid, 'power_on', state, ['shutdown', 'crashed']);
      await this.host.stop(uuid);
      await this.host.boot(domain);
    });
  }

  /** There is no guest agent to ask for a clean reboot: both kinds reset the machine, or boot it when it is not running. */
  reboot(uuid: string, _kind: RebootKind): Promise<void> {
    return this.host.change(uuid, async (state, domain) => {
      if (state === 'running' || state === 'paused') {
        await this.host.withQmp(uuid, async (qmp) => {
          await qmp.execute('system_reset');
          if (state === 'paused') await qmp.execute('cont');
        });
        return;
      }
      await this.host.stop(uuid);
      await rm(this.host.savedMemoryPath(uuid), { force: true });
      await this.host.boot(domain);
    });
  }

  pause(uuid: string): Promise<void> {
    return this.host.change(uuid, async (state) => {
      if (state === 'paused') return;
      this.host.expect(uuid, 'pause', state, ['running']);
      await this.host.withQmp(uuid, (qmp) => qmp.execute('stop'));
    });
  }

  unpause(uuid: string): Promise<void> {
    return this.host.change(uuid, async (state) => {
      if (state === 'running') return;
      this.host.expect(uuid, 'unpause', state, ['paused']);
      await this.host.withQmp(uuid, (qmp) => qmp.execute('cont'));
    });
  }

  /** libvirt's managed save: the guest's memory goes to a file beside its disk, then its QEMU quits. */
  suspend(uuid: string): Promise<void> {
    return this.host.change(uuid, async (state) => {
      if (state === 'suspended') return;
      this.host.expect(uuid, 'suspend', state, ['running']);
      const saved = this.host.savedMemoryPath(uuid);
      const partial = `${saved}.partial`;
      await this.host.withQmp(uuid, async (qmp) => {
        await qmp.execute('stop');
        await qmp.execute('migrate', { uri: `exec:cat > ${shellQuoted(partial)}` });
        await this.host.migrationDone(qmp, uuid, 'save');
      });
      await rename(partial, saved);
      await this.host.stop(uuid);
    });
  }

  /** Starts the guest's QEMU waiting for its memory, feeds it the saved file, and lets it run on from there. */
  resume(uuid: string): Promise<void> {
    return this.host.change(uuid, async (state, domain) => {
      if (state === 'running') return;
      this.host.expect(uuid, 'resume', state, ['suspended']);
      const saved = this.host.savedMemoryPath(uuid);
      await this.host.boot(domain, { incoming: true });
      await this.host.withQmp(uuid, async (qmp) => {
        await qmp.execute('migrate-incoming', { uri: `exec:cat ${shellQuoted(saved)}` });
        await this.host.untilStatus(qmp, uuid, (s) => s !== 'inmigrate', 'restore');
        if ((await status(qmp)) !== 'running') await qmp.execute('cont');
      });
      await rm(saved, { force: true });
    });
  }

  rescue(spec: VmSpec, rescueImageRef: string): Promise<void> {
    return this.host.serialized(spec.uuid, async () => {
      const domain = await this.host.requireDomain(spec.uuid);
      if (domain.rescue_image_ref === rescueImageRef && (await this.host.state(spec.uuid)) === 'running') return;
      await this.host.stop(spec.uuid);
      const rescueDisk = this.host.rescueDiskPath(spec.uuid);
      await rm(rescueDisk, { force: true });
      await this.host.disks.createOverlay(rescueImageRef, rescueDisk);
      const rescued = { ...domain, rescue_image_ref: rescueImageRef };
      await this.host.writeDomain(rescued);
      await this.host.boot(rescued);
    });
  }

  unrescue(spec: VmSpec): Promise<void> {
    return this.host.serialized(spec.uuid, async () => {
      const domain = await this.host.requireDomain(spec.uuid);
      if (!domain.rescue_image_ref && (await this.host.state(spec.uuid)) === 'running') return;
      await this.host.stop(spec.uuid);
      await rm(this.host.rescueDiskPath(spec.uuid), { force: true });
      // The definition comes from the database, not from what the rescue left on this host.
      const restored = { ...domainOf(spec), rescue_image_ref: null };
      await this.host.writeDomain(restored);
      await this.host.boot(restored);
    });
  }

  redefine(spec: VmSpec): Promise<void> {
    return this.host.serialized(spec.uuid, async () => {
      if (await this.host.domain(spec.uuid)) return;
      if (!(await exists(this.diskPath(spec.uuid)))) {
        throw new DiskNotFound(`Instance ${spec.uuid} has no disk on host ${this.host.name} (${this.diskPath(spec.uuid)}); its definition is not rebuilt over an empty one.`, {
          instance_uuid: spec.uuid, host: this.host.name,
        });
      }
      await this.host.writeDomain({ ...domainOf(spec), rescue_image_ref: null });
    });
  }

  renameGuest(uuid: string, name: string): Promise<void> {
    return this.host.serialized(uuid, async () => {
      const domain = (await this.host.domain(uuid)) ?? (await this.host.liveDomain(uuid));
      if (!domain) throw VmNotFound.forUuid(uuid, this.host.name);
      if (domain.name === name) return;
      if (await this.host.domain(uuid)) await this.host.writeDomain({ ...domain, name });
      if (await this.host.liveDomain(uuid)) await this.host.writeLiveDomain({ ...domain, name });
    });
  }

  persistDefinition(spec: VmSpec): Promise<void> {
    return this.host.serialized(spec.uuid, async () => {
      if (await this.host.domain(spec.uuid)) return;
      const live = await this.host.liveDomain(spec.uuid);
      if (!live) throw VmNotFound.forUuid(spec.uuid, this.host.name);
      await this.host.writeDomain({ ...domainOf(spec), rescue_image_ref: live.rescue_image_ref });
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
    const all = new Set([...(await instanceDirs(this.instancesDir)), ...(await this.host.definedOrStarted())]);
    const held: string[] = [];
    for (const uuid of [...all].sort()) {
      if ((await this.host.domain(uuid)) || (await this.host.runs(uuid)) || ((await exists(this.vmDir(uuid))) && (await this.host.ownsFiles(uuid)))) held.push(uuid);
    }
    return held;
  }

  async getVm(uuid: string): Promise<VmInfo | undefined> {
    const domain = await this.host.domain(uuid);
    const live = domain ? undefined : await this.host.liveDomain(uuid);
    const d = domain ?? live;
    if (!d) return undefined;
    const state = await this.host.state(uuid);
    return {
      uuid, name: d.name, power_state: POWER_STATE_OF[state], vcpus: d.vcpus, memory_mb: d.memory_mb, root_gb: d.root_gb, ...(live ? { transient: true } : {}),
    };
  }

  async guestPresence(uuid: string): Promise<GuestPresence> {
    const domain = await this.host.domain(uuid);
    if (domain?.incoming) return 'incoming';
    if (!domain && !(await this.host.liveDomain(uuid))) return 'absent';
    return PRESENCE_OF[await this.host.state(uuid)];
  }

  // ---- cold migration

  trackDirtyRegions(uuid: string): Promise<DirtyTracker> {
    return this.cold.trackDirtyRegions(uuid);
  }

  pendingDiskFiles(uuid: string): Promise<string[]> {
    return this.cold.pendingDiskFiles(uuid);
  }

  prepareIncoming(uuid: string): Promise<string> {
    return this.cold.prepareIncoming(uuid);
  }

  finishIncoming(spec: VmSpec, opts: { powerOn: boolean }): Promise<void> {
    return this.cold.finishIncoming(spec, opts);
  }

  // ---- live migration

  liveMigrationBegin(uuid: string, opts: LiveMigrationOptions): Promise<MigrationCookie> {
    return this.live.begin(uuid, opts);
  }

  liveMigrationPrepare(spec: VmSpec, cookie: MigrationCookie, opts: { blockMigration: boolean }): Promise<MigrationCookie> {
    return this.live.prepare(spec, cookie, opts);
  }

  liveMigrationPerform(uuid: string, cookie: MigrationCookie, opts: LiveMigrationOptions): Promise<LiveMigrationJob> {
    return this.live.perform(uuid, cookie, opts);
  }

  liveMigrationFinish(uuid: string, cookie: MigrationCookie, opts: { success: boolean; paused: boolean }): Promise<MigrationCookie> {
    return this.live.finish(uuid, cookie, opts);
  }

  liveMigrationConfirm(uuid: string, _cookie: MigrationCookie, opts: { success: boolean; paused: boolean }): Promise<void> {
    return this.live.confirm(uuid, opts);
  }
}

/** A path as one word of a shell command line (QEMU runs `exec:` migrations through /bin/sh). */
function shellQuoted(path: string): string {
  return `'${path.replace(/'/g, `'\\''`)}'`;
}
