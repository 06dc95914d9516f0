// The compute_nodes table: each compute reports its host's capacity and capabilities at start.
import type { DataSource } from 'typeorm';
import { ComputeNode } from '../entities';

/** What a compute reports about its host; usage columns are the scheduler's and are left alone. */
export interface ComputeNodeReport {
  host: string;
  hypervisor_hostname: string;
  hypervisor_type: string;
  vcpus: number;
  memory_mb: number;
  local_gb: number;
  cpu_model: string;
  capabilities: Record<string, boolean>;
  storage_id: string;
  host_ip?: string | null;
}

const REPORTED = ['hypervisor_hostname', 'hypervisor_type', 'vcpus', 'memory_mb', 'local_gb', 'cpu_model', 'capabilities', 'storage_id'] as const;

/** Inserts or refreshes the host's row (one node per host) and returns it. */
export async function upsertComputeNode(ds: DataSource, report: ComputeNodeReport): Promise<ComputeNode> {
  const row = { ...pick(report), host: report.host, ...(report.host_ip !== undefined ? { host_ip: report.host_ip } : {}) };
  const overwrite = [...REPORTED, ...(report.host_ip !== undefined ? ['host_ip'] : []), 'updated_at'];
  await ds.createQueryBuilder()
    .insert()
    .into(ComputeNode)
    .values(row)
    .orUpdate(overwrite, ['host'])
    .execute();
  return ds.getRepository(ComputeNode).findOneByOrFail({ host: report.host });
}

export async function listComputeNodes(ds: DataSource): Promise<ComputeNode[]> {
  return ds.getRepository(ComputeNode).find({ order: { host: 'ASC' } });
}

function pick(report: ComputeNodeReport): Pick<ComputeNodeReport, (typeof REPORTED)[number]> {
  return Object.fromEntries(REPORTED.map((k) => [k, report[k]])) as Pick<ComputeNodeReport, (typeof REPORTED)[number]>;
}
