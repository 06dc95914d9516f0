// The hypervisor driver contract a compute service runs instances through (grows with each flow it supports).
import type { PowerState } from '@ferry/common/domain';
import type { ByteRange } from '../transfer/byte-ranges';
import type { LiveMigrationDriver } from './live-migration';
import type { VmSpec } from './vm-spec';

/** Where a driver keeps its host's state, and what the host offers (every driver's options start with these). */
export interface HostOptions {
  host: string;
  stateDir: string;
  vcpus: number;
  memoryMb: number;
  diskGb: number;
  cpuModel?: string;
}

/** What a host offers, as reported into its compute_nodes row. */
export interface HostInfo {
  hypervisor_hostname: string;
  hypervisor_type: string;
  vcpus: number;
  memory_mb: number;
  local_gb: number;
  cpu_model: string;
  /** Identifies the instance storage; two hosts with the same id share it. */
  storage_id: string;
  capabilities: Record<string, boolean>;
}

export type { VmSpec };

export type RebootKind = 'SOFT' | 'HARD';

/** A VM as the hypervisor sees it now. */
export interface VmInfo {
  uuid: string;
  name: string;
  /** Nova's power state numbers: RUNNING, PAUSED, SHUTDOWN, CRASHED… */
  power_state: PowerState;
  vcpus: number;
  memory_mb: number;
  root_gb: number;
  /** True when the guest runs from memory and no definition of it is written on the host (absent: defined). */
  transient?: boolean;
}

/** Records which regions of a VM's disk the guest writes, from the moment it was started. */
export interface DirtyTracker {
  /**
   * Every region written since tracking started, normalized (sorted, merged). Complete once the guest has
   * stopped (powerOff resolves only after the guest's writes in flight have landed and been recorded).
   */
  ranges(): ByteRange[];
  /** Stops recording (and, for the fake driver, stops the simulated guest's writes). Idempotent. */
  stop(): void;
}

/**
 * A host's guests: what every driver does, moves aside. Every operation is idempotent where Nova's are: spawning a
 * VM that already exists, destroying one that is gone, powering off a VM that is off all succeed. Operations on a VM
 * the host does not have throw VmNotFound.
 */
export interface GuestDriver {
  readonly type: string;
  /** Prepares host-local state (directories, leftovers of a previous run). */
  init(): Promise<void>;
  hostInfo(): Promise<HostInfo>;
  /** The host's `uptime` line, as Linux prints it (Nova's get_host_uptime). */
  hostUptime(): Promise<string>;
  /** Creates the VM with its root disk and boots it. */
  spawn(spec: VmSpec): Promise<void>;
  /** Stops the VM if it runs and removes it and its disks; a VM that is not there is no error. */
  destroy(uuid: string): Promise<void>;
  powerOff(uuid: string): Promise<void>;
  powerOn(uuid: string): Promise<void>;
  reboot(uuid: string, kind: RebootKind): Promise<void>;
  pause(uuid: string): Promise<void>;
  unpause(uuid: string): Promise<void>;
  /** Saves the running guest's memory to the host and stops it (Nova's suspend, libvirt's managed save). */
  suspend(uuid: string): Promise<void>;
  /** Restores a suspended guest from its saved memory; it runs on from where it stopped. */
  resume(uuid: string): Promise<void>;
  /**
   * Boots the VM into a rescue environment from rescueImageRef, its own disk attached. Only what the database holds is
   * used, so a rescued VM can move to another host and be unrescued there. Idempotent.
   */
  rescue(spec: VmSpec, rescueImageRef: string): Promise<void>;
  /** Rebuilds the VM's normal definition from spec (the database) and boots it, as a hard reboot does. Idempotent. */
  unrescue(spec: VmSpec): Promise<void>;
  /**
   * Writes the VM's definition anew from spec (the database) over the disk this host holds, shut off: what an
   * operator's `virsh undefine`, a lost file or a half-written move took away. A VM still defined is left as it is.
   * Throws DiskNotFound when the host has no disk for it: a definition is never given a new, empty disk.
   */
  redefine(spec: VmSpec): Promise<void>;
  /** Every VM on the host with its real state. */
  listVms(): Promise<VmInfo[]>;
  /** One VM, or undefined when the host does not have it. */
  getVm(uuid: string): Promise<VmInfo | undefined>;
  /** Every instance this host holds anything of: a VM, an incoming VM, or only files (a disk copied in, no VM defined). */
  listHeldInstances(): Promise<string[]>;
  /** Path of the instance's root disk on this host (whether or not it exists). */
  diskPath(uuid: string): string;
}

/** Cold migration and resize: the source copies diskPath() to the path prepareIncoming() gave on the destination. */
export interface ColdMoveDriver {
  /** Starts recording the regions the guest writes to the disk of VM uuid (which must exist). */
  trackDirtyRegions(uuid: string): Promise<DirtyTracker>;
  /**
   * Files beside the disk that hold part of it (a qcow2 overlay a snapshot put over it while it was tracked): each is
   * copied whole, once the guest is off, to the same name beside the disk on the destination, whose finishIncoming
   * folds it in. Empty when the disk is the one file.
   */
  pendingDiskFiles(uuid: string): Promise<string[]>;
  /**
   * Makes room on this host for the disk of instance uuid arriving from another host and returns the path it
   * must be copied to. Idempotent. Throws when this host cannot take it.
   */
  prepareIncoming(uuid: string): Promise<string>;
  /**
   * Defines the VM of spec on the disk copied in at prepareIncoming()'s path, growing the disk to
   * spec.flavor.root_gb when it is smaller, and boots it when powerOn (else leaves it shut off). Idempotent:
   * a VM already defined is left as it is (powered on if powerOn). Throws VmNotFound when no disk was copied in.
   */
  finishIncoming(spec: VmSpec, opts: { powerOn: boolean }): Promise<void>;
}

/** What `cleanup` asks of a host to put a half-finished move right. */
export interface RepairDriver {
  /** Renames the VM (Xen renames a source domain while it is migrated); renaming it to the name it has is no error. */
  renameGuest(uuid: string, name: string): Promise<void>;
  /** Writes the definition of a VM that runs from memory without one, from spec (the database). Idempotent. */
  persistDefinition(spec: VmSpec): Promise<void>;
}

/** Everything a compute service runs instances through. */
export interface Driver extends GuestDriver, ColdMoveDriver, LiveMigrationDriver, RepairDriver {}
