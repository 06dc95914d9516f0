// The compute_nodes table: each compute reports its host's capacity, zone and usage; the scheduler reads them.
import type { DataSource } from 'typeorm';
import { ComputeNode } from '../entities';
import { hydrate } from '../hydrate';
import { queryPrepared } from '../prepared';

/** What a compute reports about its host. Usage columns are written by recordHostUsage only. */
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
  /** Left as stored when omitted (a new row gets the schema's default, 'nova'). */
  availability_zone?: string;
  cpu_allocation_ratio?: number;
  ram_allocation_ratio?: number;
  disk_allocation_ratio?: number;
}

const REPORTED = ['hypervisor_hostname', 'hypervisor_type', 'vcpus', 'memory_mb', 'local_gb', 'cpu_model', 'capabilities', 'storage_id'] as const;
const OPTIONAL = ['host_ip', 'availability_zone', 'cpu_allocation_ratio', 'ram_allocation_ratio', 'disk_allocation_ratio'] as const;

/** Inserts or refreshes the host's row (one node per host) and returns it. */
export async function upsertComputeNode(ds: DataSource, report: ComputeNodeReport): Promise<ComputeNode> {
  const columns = [...REPORTED, ...OPTIONAL.filter((k) => report[k] !== undefined)];
  const values = columns.map((k) => (k === 'capabilities' ? JSON.stringify(report.capabilities) : report[k]));
  const placeholders = columns.map((k, i) => (k === 'capabilities' ? `$${i + 2}::jsonb` : `$${i + 2}`));
  await ds.query(
    `INSERT INTO compute_nodes (host, ${columns.join(', ')}) VALUES ($1, ${placeholders.join(', ')})
     ON CONFLICT (host) DO UPDATE SET ${columns.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}, updated_at = now()`,
    [report.host, ...values],
  );
  return ds.getRepository(ComputeNode).findOneByOrFail({ host: report.host });
}

export async function listComputeNodes(ds: DataSource): Promise<ComputeNode[]> {
  return ds.getRepository(ComputeNode).find({ order: { host: 'ASC' } });
}

/** The compute nodes of `hosts` (those that have one), in one prepared statement: a step that needs two hosts' nodes reads only those. */
export async function computeNodesOf(ds: DataSource, hosts: readonly string[]): Promise<Map<string, ComputeNode>> {
  const rows = await queryPrepared<{ node: Record<string, unknown> }>(ds, 'ferry_compute_nodes_of',
    'SELECT to_jsonb(n) AS node FROM compute_nodes n WHERE n.host = ANY($1)', [[...hosts]]);
  return new Map(rows.map((r) => hydrate(ds, ComputeNode, r.node)).map((n): [string, ComputeNode] => [n.host, n]));
}

/** A host's capacity as the scheduler weighs it: totals, reserves, ratios, zone, and what allocations hold now. */
export interface HostCapacity {
  host: string;
  node: string;
  availability_zone: string;
  vcpus: number;
  memory_mb: number;
  local_gb: number;
  reserved_vcpus: number;
  reserved_memory_mb: number;
  reserved_disk_gb: number;
  cpu_allocation_ratio: number;
  ram_allocation_ratio: number;
  disk_allocation_ratio: number;
  vcpus_used: number;
  memory_mb_used: number;
  disk_gb_used: number;
}

/**
 * Writes the host's usage columns from the allocations held on it (RAM and disk plus the host's reserve, as
 * Nova's resource tracker counts them), and the number of VMs its driver runs — only when they changed, so that an
 * idle host's periodic report writes nothing. Says whether it wrote, found the figures unchanged, or found no row for
 * the host (deleted with its service: the compute reports its capacity anew).
 */
export async function recordHostUsage(ds: DataSource, host: string, runningVms: number): Promise<'written' | 'unchanged' | 'missing'> {
  // Through a CTE: the driver answers a bare UPDATE … RETURNING with [rows, count], a SELECT with its rows.
  const rows = (await ds.query(
    `WITH u AS (SELECT coalesce(sum(vcpus), 0)::int AS vcpus, coalesce(sum(memory_mb), 0)::int AS memory_mb, coalesce(sum(disk_gb), 0)::int AS disk_gb
                  FROM allocations WHERE host = $1),
          w AS (UPDATE compute_nodes n
                   SET vcpus_used = u.vcpus, memory_mb_used = u.memory_mb + n.reserved_memory_mb, local_gb_used = u.disk_gb + n.reserved_disk_gb,
                       running_vms = $2, updated_at = now()
                  FROM u
                 WHERE n.host = $1
                   AND (n.vcpus_used, n.memory_mb_used, n.local_gb_used, n.running_vms)
                       IS DISTINCT FROM (u.vcpus, u.memory_mb + n.reserved_memory_mb, u.disk_gb + n.reserved_disk_gb, $2::int)
                RETURNING n.host)
     SELECT (SELECT count(*) FROM w)::int AS written, EXISTS (SELECT 1 FROM compute_nodes WHERE host = $1) AS present`,
    [host, runningVms],
  )) as { written: number; present: boolean }[];
  if (rows[0]!.written > 0) return 'written';
  return rows[0]!.present ? 'unchanged' : 'missing';
}
