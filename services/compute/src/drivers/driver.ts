// The hypervisor driver contract a compute service runs instances through (grows with each flow it supports).
import type { InstanceFlavor } from '@ferry/common/db';
import type { PowerState } from '@ferry/common/domain';

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

/** What the driver needs to create an instance's VM. */
export interface VmSpec {
  uuid: string;
  /** The hypervisor's name for the guest (Nova's instance.name, e.g. instance-1a2b3c4d). */
  name: string;
  flavor: InstanceFlavor;
  image_ref: string;
}

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
}

/**
 * Every operation is idempotent where Nova's are: spawning a VM that already exists, destroying one that is
 * gone, powering off a VM that is off all succeed. Operations on a VM the host does not have throw VmNotFound.
 */
export interface Driver {
  readonly type: string;
  /** Prepares host-local state (directories, leftovers of a previous run). */
  init(): Promise<void>;
  hostInfo(): Promise<HostInfo>;
  /** Creates the VM with its root disk and boots it. */
  spawn(spec: VmSpec): Promise<void>;
  /** Stops the VM if it runs and removes it and its disks; a VM that is not there is no error. */
  destroy(uuid: string): Promise<void>;
  powerOff(uuid: string): Promise<void>;
  powerOn(uuid: string): Promise<void>;
  reboot(uuid: string, kind: RebootKind): Promise<void>;
  pause(uuid: string): Promise<void>;
  unpause(uuid: string): Promise<void>;
  /** Every VM on the host with its real state. */
  listVms(): Promise<VmInfo[]>;
  /** One VM, or undefined when the host does not have it. */
  getVm(uuid: string): Promise<VmInfo | undefined>;
}
