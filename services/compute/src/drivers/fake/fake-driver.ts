// The fake hypervisor: simulated VMs whose state lives in files under the host's state dir, disks as real sparse files.
import { mkdir, rm, stat } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { migratingGuestName, POWER_STATES, type PowerState } from '@ferry/common/domain';
import type { Driver, HostInfo, HostOptions, RebootKind, VmInfo, VmSpec } from '../driver';
import type { LiveMigrationJob, LiveMigrationOptions } from '../live-migration';
import type { GuestPresence, MigrationCookie } from '../../client/wire-types';
import { DiskNotFound, DriverError, VmInvalidState, VmNotFound } from '../errors';
import { instanceDirs, instancesDirOf, peerDiskPath, storageIdOf } from '../instance-paths';
import { FaultPoints, type FaultPoint } from './fault-points';
import { planBlockCopy, type BlockCopyPlan } from './block-copy';
import { FakeLiveMigrationJob } from './live-job';
import { SimulatedGuest, type FakeDirtyTracker, type GuestWriteOptions } from './simulated-guest';
import { uptimeLine } from '../uptime-line';
import { DISK_FILE, createSparseDisk, growDisk, readVmRecord, writeVmRecord, type FakeVmRecord, type FakeVmState } from './vm-files';

export interface FakeDriverOptions extends HostOptions {
  /** Bytes per second a guest writes to its disk while the disk is tracked and the VM runs (default 0: idle). */
  guestWriteRate?: number;
  /** Size and alignment of each of the guest's writes (default 64 KiB). */
  guestWriteBlockSize?: number;
  /** Bytes the guest writes at most per tracking session (default: no cap), e.g. "32 MiB during pass 1". */
  guestWriteLimit?: number;
  /** Bytes per second a live migration moves RAM at (default 1 GiB/s). */
  liveMigrationBandwidth?: number;
  /** Bytes per second a guest dirties its RAM unless the migration says otherwise (default 0). */
  liveMigrationDirtyRate?: number;
  /** Wall seconds per simulated second of a live migration (default 1; 0.01 runs it 100× faster). */
  liveMigrationTimeScale?: number;
  /** Advertise supports_live_migrate_rescued (default true). */
  supportsLiveMigrateRescued?: boolean;
}

const DEFAULT_GUEST_WRITE_BLOCK_SIZE = 64 * 1024;
const MIB = 1024 * 1024;
const DEFAULT_LIVE_MIGRATION_BANDWIDTH = 1024 * MIB;

/** The pre-copy model's settings, from the driver's options. */
interface LiveMigrationSettings {
  bandwidth: number;
  dirtyRate: number;
  timeScale: number;
}

const POWER_STATE_OF: Record<FakeVmState, PowerState> = {
  running: POWER_STATES.RUNNING,
  paused: POWER_STATES.PAUSED,
  shutdown: POWER_STATES.SHUTDOWN,
  crashed: POWER_STATES.CRASHED,
  incoming: POWER_STATES.PAUSED,
  suspended: POWER_STATES.SUSPENDED,
};

const PRESENCE_OF: Record<FakeVmState, GuestPresence> = {
  running: 'running', paused: 'paused', shutdown: 'stopped', crashed: 'stopped', incoming: 'incoming',
  // A suspended guest is a whole copy (its memory saved), not an empty incoming VM.
  suspended: 'stopped',
};

/** A power operation: the state it leads to, the states it starts from, and the states where it has nothing to do. */
interface PowerTransition {
  point: FaultPoint;
  to: FakeVmState;
  from: readonly FakeVmState[];
  doneIn: readonly FakeVmState[];
  boots: boolean;
}

const ANY: readonly FakeVmState[] = ['running', 'paused', 'shutdown', 'crashed', 'suspended'];

const TRANSITIONS = {
  powerOff: { point: 'power_off', to: 'shutdown', from: ANY, doneIn: ['shutdown'], boots: false },
  powerOn: { point: 'power_on', to: 'running', from: ['shutdown', 'crashed'], doneIn: ['running'], boots: true },
  // A soft reboot of a guest that is not running becomes a hard one, as in Nova's libvirt driver: both end running.
  reboot: { point: 'reboot', to: 'running', from: ANY, doneIn: [], boots: true },
  pause: { point: 'pause', to: 'paused', from: ['running'], doneIn: ['paused'], boots: false },
  unpause: { point: 'unpause', to: 'running', from: ['paused'], doneIn: ['running'], boots: false },
  // The guest's memory is saved and restored, so a resumed guest carries on where it was: no boot.
  suspend: { point: 'suspend', to: 'suspended', from: ['running'], doneIn: ['suspended'], boots: false },
  resume: { point: 'resume', to: 'running', from: ['suspended'], doneIn: ['running'], boots: false },
} as const satisfies Record<string, PowerTransition>;

export class FakeDriver implements Driver {
  readonly type = 'fake';
  readonly hostDir: string;
  readonly instancesDir: string;
  readonly faults: FaultPoints;
  private readonly guestWrites: GuestWriteOptions;
  private readonly live: LiveMigrationSettings;
  /** When this fake host came up: the driver object is the host, so its uptime counts from here. */
  private readonly bootedAt = Date.now();
  /** The simulated guests of VMs tracked by this driver object (a restarted compute starts with none). */
  private readonly guests = new Map<string, SimulatedGuest>();

  constructor(private readonly opts: FakeDriverOptions) {
    this.hostDir = join(opts.stateDir, 'hosts', opts.host);
    this.instancesDir = instancesDirOf(opts.stateDir, opts.host);
    this.faults = new FaultPoints(this.hostDir, opts.host);
    this.guestWrites = guestWriteOptions(opts);
    this.live = liveMigrationSettings(opts);
  }

  /** The directory of one VM: its state file and its disk. */
  vmDir(uuid: string): string {
    return join(this.instancesDir, uuid);
  }

  async init(): Promise<void> {
    await mkdir(this.instancesDir, { recursive: true });
  }

  async hostInfo(): Promise<HostInfo> {
    return {
      hypervisor_hostname: this.opts.host,
      hypervisor_type: 'fake',
      vcpus: this.opts.vcpus,
      memory_mb: this.opts.memoryMb,
      local_gb: this.opts.diskGb,
      cpu_model: this.opts.cpuModel ?? 'Haswell-noTSX',
      storage_id: await storageIdOf(this.instancesDir),
      capabilities: { supports_live_migrate_rescued: this.opts.supportsLiveMigrateRescued ?? true },
    };
  }

  /** No one logs in to a fake host; the load is the real machine's. */
  async hostUptime(): Promise<string> {
    const now = new Date();
    return uptimeLine({ now, upSeconds: (now.getTime() - this.bootedAt) / 1000, users: 0, loadavg: loadavg() });
  }

  async spawn(spec: VmSpec): Promise<void> {
    await this.faults.check('spawn');
    const dir = this.vmDir(spec.uuid);
    if (await readVmRecord(dir)) return;
    await mkdir(dir, { recursive: true });
    await createSparseDisk(join(dir, DISK_FILE), spec.flavor.root_gb);
    await this.faults.check('spawn.after_disk');
    const now = new Date().toISOString();
    // The state file is written last: a directory without one is a spawn cut short, not a VM.
    await writeVmRecord(dir, {
      uuid: spec.uuid, name: spec.name, state: 'running', vcpus: spec.flavor.vcpus, memory_mb: spec.flavor.memory_mb,
      root_gb: spec.flavor.root_gb, image_ref: spec.image_ref, boots: 1, created_at: now, updated_at: now,
    });
  }

  async destroy(uuid: string): Promise<void> {
    await this.faults.check('destroy');
    const guest = this.guests.get(uuid);
    if (guest) {
      this.guests.delete(uuid);
      await guest.dispose();
    }
    await rm(this.vmDir(uuid), { recursive: true, force: true });
  }

  powerOff(uuid: string): Promise<void> {
    return this.transition(uuid, TRANSITIONS.powerOff);
  }

  powerOn(uuid: string): Promise<void> {
    return this.transition(uuid, TRANSITIONS.powerOn);
  }

  reboot(uuid: string, _kind: RebootKind): Promise<void> {
    return this.transition(uuid, TRANSITIONS.reboot);
  }

  pause(uuid: string): Promise<void> {
    return this.transition(uuid, TRANSITIONS.pause);
  }

  unpause(uuid: string): Promise<void> {
    return this.transition(uuid, TRANSITIONS.unpause);
  }

  suspend(uuid: string): Promise<void> {
    return this.transition(uuid, TRANSITIONS.suspend);
  }

  resume(uuid: string): Promise<void> {
    return this.transition(uuid, TRANSITIONS.resume);
  }

  async renameGuest(uuid: string, name: string): Promise<void> {
    await this.faults.check('rename');
    const record = await readVmRecord(this.vmDir(uuid));
    if (!record) throw VmNotFound.forUuid(uuid, this.opts.host);
    if (record.name !== name) await writeVmRecord(this.vmDir(uuid), { ...record, name, updated_at: new Date().toISOString() });
  }

  async persistDefinition(spec: VmSpec): Promise<void> {
    await this.faults.check('persist_definition');
    const record = await readVmRecord(this.vmDir(spec.uuid));
    if (!record) throw VmNotFound.forUuid(spec.uuid, this.opts.host);
    if (!record.transient) return;
    await writeVmRecord(this.vmDir(spec.uuid), {
      ...record, transient: false, name: spec.name, vcpus: spec.flavor.vcpus, memory_mb: spec.flavor.memory_mb, root_gb: spec.flavor.root_gb,
      image_ref: spec.image_ref, updated_at: new Date().toISOString(),
    });
  }

  async listVms(): Promise<VmInfo[]> {
    const vms: VmInfo[] = [];
    for (const name of await instanceDirs(this.instancesDir)) {
      const record = await readVmRecord(join(this.instancesDir, name));
      if (record) vms.push(vmInfo(record));
    }
    return vms;
  }

  listHeldInstances(): Promise<string[]> {
    return instanceDirs(this.instancesDir);
  }

  async getVm(uuid: string): Promise<VmInfo | undefined> {
    const record = await readVmRecord(this.vmDir(uuid));
    return record && vmInfo(record);
  }

  diskPath(uuid: string): string {
    return join(this.vmDir(uuid), DISK_FILE);
  }

  async trackDirtyRegions(uuid: string): Promise<FakeDirtyTracker> {
    if (!(await readVmRecord(this.vmDir(uuid)))) throw VmNotFound.forUuid(uuid, this.opts.host);
    let guest = this.guests.get(uuid);
    if (!guest) {
      guest = new SimulatedGuest(this.vmDir(uuid), this.diskPath(uuid), this.guestWrites);
      this.guests.set(uuid, guest);
    }
    return guest.track();
  }

  /** A fake VM's disk is one file. */
  async pendingDiskFiles(_uuid: string): Promise<string[]> {
    return [];
  }

  async prepareIncoming(uuid: string): Promise<string> {
    await this.faults.check('prepare_incoming');
    // No state file: until finishIncoming writes one, the directory is an arriving disk, not a VM.
    await mkdir(this.vmDir(uuid), { recursive: true });
    return this.diskPath(uuid);
  }

  async finishIncoming(spec: VmSpec, opts: { powerOn: boolean }): Promise<void> {
    await this.faults.check('finish_incoming');
    const dir = this.vmDir(spec.uuid);
    const record = await readVmRecord(dir);
    if (record) {
      if (opts.powerOn && record.state === 'shutdown') await this.fenced(spec.uuid, () => writeVmRecord(dir, booted(record)));
      return;
    }
    await this.growIncomingDisk(spec);
    const now = new Date().toISOString();
    await writeVmRecord(dir, {
      uuid: spec.uuid, name: spec.name, state: opts.powerOn ? 'running' : 'shutdown', vcpus: spec.flavor.vcpus,
      memory_mb: spec.flavor.memory_mb, root_gb: spec.flavor.root_gb, image_ref: spec.image_ref, boots: opts.powerOn ? 1 : 0,
      created_at: now, updated_at: now,
    });
  }

  private async growIncomingDisk(spec: VmSpec): Promise<void> {
    try {
      await growDisk(this.diskPath(spec.uuid), spec.flavor.root_gb);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      throw new VmNotFound(`Instance ${spec.uuid} has no disk copied in on host ${this.opts.host} (${this.diskPath(spec.uuid)}).`, {
        instance_uuid: spec.uuid, host: this.opts.host,
      });
    }
  }

  /** Runs a change of the VM's state with its simulated guest (if any) held still and its writes landed. */
  private fenced<T>(uuid: string, op: () => Promise<T>): Promise<T> {
    const guest = this.guests.get(uuid);
    return guest ? guest.fenced(op) : op();
  }

  async rescue(spec: VmSpec, rescueImageRef: string): Promise<void> {
    await this.faults.check('rescue');
    const record = await readVmRecord(this.vmDir(spec.uuid));
    if (!record) throw VmNotFound.forUuid(spec.uuid, this.opts.host);
    if (record.state === 'running' && record.rescue_image_ref === rescueImageRef) return;
    await writeVmRecord(this.vmDir(spec.uuid), { ...record, state: 'running', rescue_image_ref: rescueImageRef, boots: record.boots + 1, updated_at: new Date().toISOString() });
  }

  async unrescue(spec: VmSpec): Promise<void> {
    await this.faults.check('unrescue');
    const record = await readVmRecord(this.vmDir(spec.uuid));
    if (!record) throw VmNotFound.forUuid(spec.uuid, this.opts.host);
    if (record.state === 'running' && !record.rescue_image_ref) return;
    // The definition comes from the database, not from what the rescue left on this host.
    await writeVmRecord(this.vmDir(spec.uuid), {
      ...record, state: 'running', rescue_image_ref: null, vcpus: spec.flavor.vcpus, memory_mb: spec.flavor.memory_mb, image_ref: spec.image_ref,
      boots: record.boots + 1, updated_at: new Date().toISOString(),
    });
  }

  async redefine(spec: VmSpec): Promise<void> {
    await this.faults.check('redefine');
    const dir = this.vmDir(spec.uuid);
    if (await readVmRecord(dir)) return;
    try {
      await stat(this.diskPath(spec.uuid));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      throw new DiskNotFound(`Instance ${spec.uuid} has no disk on host ${this.opts.host} (${this.diskPath(spec.uuid)}); its definition is not rebuilt over an empty one.`, {
        instance_uuid: spec.uuid, host: this.opts.host,
      });
    }
    const now = new Date().toISOString();
    await writeVmRecord(dir, {
      uuid: spec.uuid, name: spec.name, state: 'shutdown', vcpus: spec.flavor.vcpus, memory_mb: spec.flavor.memory_mb,
      root_gb: spec.flavor.root_gb, image_ref: spec.image_ref, boots: 0, created_at: now, updated_at: now,
    });
  }

  // Live migration: the source and destination are different driver objects that share only files and cookies.
  // The source writes into the destination's directory only at the disk path the destination's Prepare named.

  async liveMigrationBegin(uuid: string, opts: LiveMigrationOptions): Promise<MigrationCookie> {
    await this.faults.check('live_migration_begin');
    const record = await this.migratable(uuid);
    return {
      source_host: this.opts.host, block_migration: opts.blockMigration, name: record.name, vcpus: record.vcpus, memory_mb: record.memory_mb,
      root_gb: record.root_gb, image_ref: record.image_ref, state: record.state, boots: record.boots,
    };
  }

  /**
   * Defines the incoming VM (state `incoming`, seen as PAUSED) with an empty sparse disk of the flavor's size. Fake
   * hosts never share instance storage (each has its own directory), so the disk is created even without block
   * migration: the VM is whole, though its disk arrives empty (a real hypervisor refuses that case in its checks).
   */
  async liveMigrationPrepare(spec: VmSpec, cookie: MigrationCookie, opts: { blockMigration: boolean }): Promise<MigrationCookie> {
    await this.faults.check('live_migration_prepare');
    const dir = this.vmDir(spec.uuid);
    const out = { dest_host: this.opts.host, incoming_dir: dir, disk_path: join(dir, DISK_FILE), block_migration: opts.blockMigration };
    const existing = await readVmRecord(dir);
    if (existing?.state === 'incoming') return out;
    if (existing) {
      throw new VmInvalidState(`Cannot prepare an incoming live migration of instance ${spec.uuid} on host ${this.opts.host}: it is already defined here (${existing.state})`, {
        instance_uuid: spec.uuid, host: this.opts.host, state: existing.state,
      });
    }
    await mkdir(dir, { recursive: true });
    await createSparseDisk(join(dir, DISK_FILE), spec.flavor.root_gb);
    const now = new Date().toISOString();
    // The state file is written last: until then the directory is no VM (a Prepare cut short leaves no incoming VM).
    await writeVmRecord(dir, {
      uuid: spec.uuid, name: spec.name, state: 'incoming', vcpus: spec.flavor.vcpus, memory_mb: spec.flavor.memory_mb,
      root_gb: spec.flavor.root_gb, image_ref: spec.image_ref, rescue_image_ref: spec.rescue_image_ref ?? null,
      boots: typeof cookie.boots === 'number' ? cookie.boots : 0, incoming_from: typeof cookie.source_host === 'string' ? cookie.source_host : null,
      created_at: now, updated_at: now,
    });
    return out;
  }

  async liveMigrationPerform(uuid: string, cookie: MigrationCookie, opts: LiveMigrationOptions): Promise<LiveMigrationJob> {
    await this.faults.check('live_migration_perform');
    const record = await this.migratable(uuid);
    let disk: { source: string; dest: string; plan: BlockCopyPlan } | undefined;
    if (opts.blockMigration) {
      if (cookie.disk_path === undefined) {
        throw new DriverError(`Cannot block-migrate instance ${uuid}: the destination named no disk to copy into`, { instance_uuid: uuid, dest_host: opts.destHost });
      }
      const dest = peerDiskPath(cookie.disk_path, opts.destHost, uuid);
      // What the copy moves is known before it starts: disk_total counts the disk's allocated regions, not its size.
      const plan = await planBlockCopy(this.diskPath(uuid)).catch((err: unknown) => {
        throw new DriverError(`Cannot block-migrate instance ${uuid}: its disk ${this.diskPath(uuid)} is unreadable (${(err as Error).message})`, { instance_uuid: uuid });
      });
      disk = { source: this.diskPath(uuid), dest, plan };
    }
    // Xen's freeze failure: the source domain, renamed for the transfer, cannot be frozen and runs on under that name
    // while the job fails (the destination's empty paused domain is whatever its Finish leaves).
    const frozeNot = await this.faults.take('live_migration_job.freeze');
    if (frozeNot) await this.fenced(uuid, () => writeVmRecord(this.vmDir(uuid), { ...record, name: migratingGuestName(uuid), updated_at: new Date().toISOString() }));
    const failWith = (await this.faults.take('live_migration_job')) ?? frozeNot;
    const before = record.state;
    return new FakeLiveMigrationJob({
      ramBytes: record.memory_mb * MIB,
      bandwidth: Math.min(this.live.bandwidth, opts.bandwidthBytesPerSec ?? Infinity),
      dirtyRate: opts.dirtyRateBytesPerSec ?? this.live.dirtyRate,
      autoConverge: opts.autoConverge, postCopyAllowed: opts.postCopyAllowed, maxDowntimeMs: opts.maxDowntimeMs,
      timeScale: this.live.timeScale,
      ...(disk ? { disk } : {}),
      ...(failWith ? { failWith } : {}),
      guest: {
        pause: () => this.fenced(uuid, () => this.setStateIf(uuid, ['running'], 'paused')),
        restore: () => this.fenced(uuid, () => this.setStateIf(uuid, ['paused'], before)),
        completed: () => this.fenced(uuid, () => this.setStateIf(uuid, ['running', 'paused'], 'paused', true)),
      },
      cookie: { source_host: this.opts.host, dest_host: opts.destHost },
    });
  }

  async liveMigrationFinish(uuid: string, _cookie: MigrationCookie, opts: { success: boolean; paused: boolean }): Promise<MigrationCookie> {
    await this.faults.check('live_migration_finish');
    const dir = this.vmDir(uuid);
    const record = await readVmRecord(dir);
    if (opts.success) {
      if (!record) throw VmNotFound.forUuid(uuid, this.opts.host);
      if (record.state === 'incoming') {
        // The guest takes over from memory; with the fault armed its definition is never written here.
        const lost = (await this.faults.take('live_migration_finish.no_definition')) !== undefined;
        await writeVmRecord(dir, {
          ...record, state: opts.paused ? 'paused' : 'running', incoming_from: null, updated_at: new Date().toISOString(), ...(lost ? { transient: true } : {}),
        });
      }
      await this.faults.check('live_migration_finish.after_takeover');
      return { dest_host: this.opts.host };
    }
    // Only an incoming VM is killed: a VM that already took over here is the live copy, not this migration's leftover.
    if (!record || record.state === 'incoming') await rm(dir, { recursive: true, force: true });
    return {};
  }

  async liveMigrationConfirm(uuid: string, _cookie: MigrationCookie, opts: { success: boolean; paused: boolean }): Promise<void> {
    await this.faults.check('live_migration_confirm');
    if (opts.success) {
      const guest = this.guests.get(uuid);
      if (guest) {
        this.guests.delete(uuid);
        await guest.dispose();
      }
      await rm(this.vmDir(uuid), { recursive: true, force: true });
      return;
    }
    // The source VM resumes as it was; one shut down or crashed meanwhile stays as it is.
    if (!(await readVmRecord(this.vmDir(uuid)))) throw VmNotFound.forUuid(uuid, this.opts.host);
    await this.fenced(uuid, () => this.setStateIf(uuid, ['running', 'paused'], opts.paused ? 'paused' : 'running'));
  }

  async guestPresence(uuid: string): Promise<GuestPresence> {
    await this.faults.check('guest_presence');
    const record = await readVmRecord(this.vmDir(uuid));
    return record ? PRESENCE_OF[record.state] : 'absent';
  }

  /** The VM's record, when it can be live-migrated (it runs, or is paused). */
  private async migratable(uuid: string): Promise<FakeVmRecord> {
    const record = await readVmRecord(this.vmDir(uuid));
    if (!record) throw VmNotFound.forUuid(uuid, this.opts.host);
    if (record.state !== 'running' && record.state !== 'paused') {
      throw new VmInvalidState(`Cannot live-migrate instance ${uuid} on host ${this.opts.host}: it is ${record.state}`, { instance_uuid: uuid, state: record.state });
    }
    return record;
  }

  /** Moves the VM to `state` when it is in one of `from`; a VM gone is no error unless `required`. */
  private async setStateIf(uuid: string, from: readonly FakeVmState[], state: FakeVmState, required = false): Promise<void> {
    const record = await readVmRecord(this.vmDir(uuid));
    if (!record) {
      if (required) throw VmNotFound.forUuid(uuid, this.opts.host);
      return;
    }
    if (!from.includes(record.state)) {
      if (required && record.state !== state) {
        throw new VmInvalidState(`Instance ${uuid} on host ${this.opts.host} is ${record.state}, not ${from.join(' or ')}`, { instance_uuid: uuid, state: record.state });
      }
      return;
    }
    if (record.state !== state) await writeVmRecord(this.vmDir(uuid), { ...record, state, updated_at: new Date().toISOString() });
  }

  private async transition(uuid: string, t: PowerTransition): Promise<void> {
    await this.faults.check(t.point);
    await this.fenced(uuid, () => this.applyTransition(uuid, t));
  }

  private async applyTransition(uuid: string, t: PowerTransition): Promise<void> {
    const dir = this.vmDir(uuid);
    const record = await readVmRecord(dir);
    if (!record) throw VmNotFound.forUuid(uuid, this.opts.host);
    if (t.doneIn.includes(record.state)) return;
    if (!t.from.includes(record.state)) {
      throw new VmInvalidState(`Cannot ${t.point} instance ${uuid} on host ${this.opts.host}: it is ${record.state}`, {
        instance_uuid: uuid, state: record.state, operation: t.point,
      });
    }
    const next: FakeVmRecord = { ...record, state: t.to, boots: record.boots + (t.boots ? 1 : 0), updated_at: new Date().toISOString() };
    await writeVmRecord(dir, next);
  }
}

function booted(r: FakeVmRecord): FakeVmRecord {
  return { ...r, state: 'running', boots: r.boots + 1, updated_at: new Date().toISOString() };
}

function guestWriteOptions(opts: FakeDriverOptions): GuestWriteOptions {
  const rate = opts.guestWriteRate ?? 0;
  const blockSize = opts.guestWriteBlockSize ?? DEFAULT_GUEST_WRITE_BLOCK_SIZE;
  const limit = opts.guestWriteLimit ?? Infinity;
  if (!(rate >= 0 && Number.isFinite(rate))) throw new Error(`guestWriteRate must be a non-negative number, got ${rate}`);
  if (!(Number.isSafeInteger(blockSize) && blockSize > 0)) throw new Error(`guestWriteBlockSize must be a positive integer, got ${blockSize}`);
  if (!(limit >= 0)) throw new Error(`guestWriteLimit must be a non-negative number, got ${limit}`);
  return { rate, blockSize, limit };
}

function liveMigrationSettings(opts: FakeDriverOptions): LiveMigrationSettings {
  const bandwidth = opts.liveMigrationBandwidth ?? DEFAULT_LIVE_MIGRATION_BANDWIDTH;
  const dirtyRate = opts.liveMigrationDirtyRate ?? 0;
  const timeScale = opts.liveMigrationTimeScale ?? 1;
  if (!(bandwidth > 0 && Number.isFinite(bandwidth))) throw new Error(`liveMigrationBandwidth must be a positive number, got ${bandwidth}`);
  if (!(dirtyRate >= 0 && Number.isFinite(dirtyRate))) throw new Error(`liveMigrationDirtyRate must be a non-negative number, got ${dirtyRate}`);
  if (!(timeScale > 0 && Number.isFinite(timeScale))) throw new Error(`liveMigrationTimeScale must be a positive number, got ${timeScale}`);
  return { bandwidth, dirtyRate, timeScale };
}

function vmInfo(r: FakeVmRecord): VmInfo {
  return {
    uuid: r.uuid, name: r.name, power_state: POWER_STATE_OF[r.state], vcpus: r.vcpus, memory_mb: r.memory_mb, root_gb: r.root_gb,
    ...(r.transient ? { transient: true } : {}),
  };
}
