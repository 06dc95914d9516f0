// The fake hypervisor: simulated VMs whose state lives in files under the host's state dir, disks as real sparse files.
import { createHash } from 'node:crypto';
import { mkdir, readdir, realpath, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { POWER_STATES, type PowerState } from '@ferry/common/domain';
import type { Driver, HostInfo, RebootKind, VmInfo, VmSpec } from '../driver';
import { VmInvalidState, VmNotFound } from '../errors';
import { FaultPoints, type FaultPoint } from './fault-points';
import { DISK_FILE, createSparseDisk, readVmRecord, writeVmRecord, type FakeVmRecord, type FakeVmState } from './vm-files';

export interface FakeDriverOptions {
  host: string;
  stateDir: string;
  vcpus: number;
  memoryMb: number;
  diskGb: number;
  cpuModel?: string;
}

const POWER_STATE_OF: Record<FakeVmState, PowerState> = {
  running: POWER_STATES.RUNNING,
  paused: POWER_STATES.PAUSED,
  shutdown: POWER_STATES.SHUTDOWN,
  crashed: POWER_STATES.CRASHED,
};

/** A power operation: the state it leads to, the states it starts from, and the states where it has nothing to do. */
interface PowerTransition {
  point: FaultPoint;
  to: FakeVmState;
  from: readonly FakeVmState[];
  doneIn: readonly FakeVmState[];
  boots: boolean;
}

const ANY: readonly FakeVmState[] = ['running', 'paused', 'shutdown', 'crashed'];

const TRANSITIONS = {
  powerOff: { point: 'power_off', to: 'shutdown', from: ANY, doneIn: ['shutdown'], boots: false },
  powerOn: { point: 'power_on', to: 'running', from: ['shutdown', 'crashed'], doneIn: ['running'], boots: true },
  // A soft reboot of a guest that is not running becomes a hard one, as in Nova's libvirt driver: both end running.
  reboot: { point: 'reboot', to: 'running', from: ANY, doneIn: [], boots: true },
  pause: { point: 'pause', to: 'paused', from: ['running'], doneIn: ['paused'], boots: false },
  unpause: { point: 'unpause', to: 'running', from: ['paused'], doneIn: ['running'], boots: false },
} as const satisfies Record<string, PowerTransition>;

export class FakeDriver implements Driver {
  readonly type = 'fake';
  readonly hostDir: string;
  readonly instancesDir: string;
  readonly faults: FaultPoints;

  constructor(private readonly opts: FakeDriverOptions) {
    this.hostDir = join(opts.stateDir, 'hosts', opts.host);
    this.instancesDir = join(this.hostDir, 'instances');
    this.faults = new FaultPoints(this.hostDir, opts.host);
  }

  /** The directory of one VM: its state file and its disk. */
  vmDir(uuid: string): string {
    return join(this.instancesDir, uuid);
  }

  async init(): Promise<void> {
    await mkdir(this.instancesDir, { recursive: true });
  }

  async hostInfo(): Promise<HostInfo> {
    const instancesDir = await realpath(this.instancesDir);
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

  async listVms(): Promise<VmInfo[]> {
    let names: string[];
    try {
      names = await readdir(this.instancesDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const vms: VmInfo[] = [];
    for (const name of names.sort()) {
      const record = await readVmRecord(join(this.instancesDir, name));
      if (record) vms.push(vmInfo(record));
    }
    return vms;
  }

  async getVm(uuid: string): Promise<VmInfo | undefined> {
    const record = await readVmRecord(this.vmDir(uuid));
    return record && vmInfo(record);
  }

  private async transition(uuid: string, t: PowerTransition): Promise<void> {
    await this.faults.check(t.point);
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

function vmInfo(r: FakeVmRecord): VmInfo {
  return { uuid: r.uuid, name: r.name, power_state: POWER_STATE_OF[r.state], vcpus: r.vcpus, memory_mb: r.memory_mb, root_gb: r.root_gb };
}
