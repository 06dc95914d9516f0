// The hypervisor driver contract a compute service runs moves through (grows with each flow it supports).

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

export interface Driver {
  readonly type: string;
  /** Prepares host-local state (directories, leftovers of a previous run). */
  init(): Promise<void>;
  hostInfo(): Promise<HostInfo>;
}
