// The fake hypervisor: simulated VMs whose state lives in files under the host's state dir.
import { createHash } from 'node:crypto';
import { mkdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import type { Driver, HostInfo } from '../driver';

export interface FakeDriverOptions {
  host: string;
  stateDir: string;
  vcpus: number;
  memoryMb: number;
  diskGb: number;
  cpuModel?: string;
}

export class FakeDriver implements Driver {
  readonly type = 'fake';
  readonly hostDir: string;

  constructor(private readonly opts: FakeDriverOptions) {
    this.hostDir = join(opts.stateDir, 'hosts', opts.host);
  }

  async init(): Promise<void> {
    await mkdir(join(this.hostDir, 'instances'), { recursive: true });
  }

  async hostInfo(): Promise<HostInfo> {
    const instancesDir = await realpath(join(this.hostDir, 'instances'));
    return {
      hypervisor_hostname: this.opts.host,
      hypervisor_type: 'fake',
      vcpus: this.opts.vcpus,
      memory_mb: this.opts.memoryMb,
      local_gb: this.opts.diskGb,
      cpu_model: this.opts.cpuModel ?? 'Haswell-noTSX',
      storage_id: createHash('sha256').update(instancesDir).digest('hex').slice(0, 16),
      capabilities: {},
    };
  }
}
