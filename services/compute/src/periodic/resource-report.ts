// Resource report: the host's capacity from the driver, its usage from the claims held on it, into compute_nodes —
// written only when something changed, so that a thousand idle hosts keep the database quiet.
import { recordHostUsage, upsertComputeNode, type ComputeNodeReport } from '@ferry/common/db';
import { countLivenessWrite } from '@ferry/common/metrics';
import type { ComputeContext } from '../compute-context';

/** What the host's compute last wrote of its capacity (the usage columns compare in the database). */
const reportedCapacity = new WeakMap<ComputeContext, string>();

export async function reportResources(c: ComputeContext): Promise<void> {
  await reportCapacity(c);
  const vms = await c.driver.listVms();
  const usage = await recordHostUsage(c.ds, c.host, vms.length);
  if (usage === 'missing') {
    // The row went with the host's service record (DELETE os-services): the host registers again, as it did at start.
    reportedCapacity.delete(c);
    await reportCapacity(c);
    await recordHostUsage(c.ds, c.host, vms.length);
  }
  if (usage !== 'unchanged') countLivenessWrite('resource_report');
}

async function reportCapacity(c: ComputeContext): Promise<void> {
  const info = await c.driver.hostInfo();
  const report: ComputeNodeReport = {
    host: c.host, ...info,
    availability_zone: c.config.availabilityZone,
    cpu_allocation_ratio: c.config.cpuAllocationRatio,
    ram_allocation_ratio: c.config.ramAllocationRatio,
    disk_allocation_ratio: c.config.diskAllocationRatio,
  };
  const capacity = JSON.stringify(report);
  if (reportedCapacity.get(c) !== capacity) {
    await upsertComputeNode(c.ds, report);
    countLivenessWrite('resource_report');
    reportedCapacity.set(c, capacity);
  }
}
