// Resource report: the host's capacity from the driver, its usage from the claims held on it, into compute_nodes.
import { recordHostUsage, upsertComputeNode } from '@ferry/common/db';
import type { ComputeContext } from '../compute-context';

export async function reportResources(c: ComputeContext): Promise<void> {
  const info = await c.driver.hostInfo();
  await upsertComputeNode(c.ds, {
    host: c.host, ...info,
    availability_zone: c.config.availabilityZone,
    cpu_allocation_ratio: c.config.cpuAllocationRatio,
    ram_allocation_ratio: c.config.ramAllocationRatio,
    disk_allocation_ratio: c.config.diskAllocationRatio,
  });
  const vms = await c.driver.listVms();
  await recordHostUsage(c.ds, c.host, vms.length);
}
