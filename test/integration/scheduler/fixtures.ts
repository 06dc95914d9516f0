// Rows scheduler and compute tests set up: compute hosts (node + live service) and instances as the API creates them.
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { Flavor, Instance, recordHeartbeat, upsertComputeNode, type InstanceFlavor } from '@ferry/common/db';

export interface TestHost {
  host: string;
  vcpus?: number;
  memory_mb?: number;
  local_gb?: number;
  availability_zone?: string;
  cpu_allocation_ratio?: number;
  ram_allocation_ratio?: number;
  disk_allocation_ratio?: number;
}

/** A compute node plus a fresh heartbeat of its compute service, as a running compute would leave them. */
export async function addComputeHost(ds: DataSource, h: TestHost): Promise<void> {
  await upsertComputeNode(ds, {
    host: h.host, hypervisor_hostname: h.host, hypervisor_type: 'fake', vcpus: h.vcpus ?? 16, memory_mb: h.memory_mb ?? 65536,
    local_gb: h.local_gb ?? 1000, cpu_model: 'Haswell', capabilities: {}, storage_id: `local-${h.host}`,
    availability_zone: h.availability_zone ?? 'nova', cpu_allocation_ratio: h.cpu_allocation_ratio ?? 1,
    ram_allocation_ratio: h.ram_allocation_ratio ?? 1, disk_allocation_ratio: h.disk_allocation_ratio ?? 1,
  });
  await recordHeartbeat(ds, { host: h.host, binary: 'ferry-compute', topic: 'compute', version: '0.1.0' });
}

/** The seeded flavor as an instance embeds it. */
export async function instanceFlavor(ds: DataSource, name: string): Promise<InstanceFlavor> {
  const f = await ds.getRepository(Flavor).findOneByOrFail({ name });
  return { id: f.id, flavorid: f.flavorid, name: f.name, vcpus: f.vcpus, memory_mb: f.memory_mb, root_gb: f.root_gb, ephemeral_gb: f.ephemeral_gb, swap: f.swap, extra_specs: f.extra_specs };
}

/** An instance row as the API writes it on create: building, scheduling, no host yet. */
export async function insertBuildingInstance(ds: DataSource, flavor: InstanceFlavor, fields: Partial<Instance> = {}): Promise<Instance> {
  const repo = ds.getRepository(Instance);
  return repo.save(repo.create({
    uuid: randomUUID(), display_name: 'vm', project_id: 'demo', user_id: 'demo', host: null, node: null,
    flavor, image_ref: 'cirros', vm_state: 'building', task_state: 'scheduling', power_state: 0, ...fields,
  }));
}

export function requestSpecFor(flavor: InstanceFlavor, extra: Record<string, unknown> = {}) {
  return { flavor, image_ref: 'cirros', project_id: 'demo', ...extra };
}
