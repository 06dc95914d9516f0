// Compute nodes as the hypervisors API reports them: capacity from the node, usage from the claims
// (allocations) on its host, instance counts from the instances it runs.
import type { DataSource } from 'typeorm';
import { guestName } from '@ferry/common/domain';

/** What a node reports when the schema has no hypervisor_version column (Nova's fake driver reports the same). */
export const DEFAULT_HYPERVISOR_VERSION = 1000;

export interface NodeUsage {
  id: number;
  uuid: string;
  host: string;
  hypervisor_hostname: string;
  hypervisor_type: string;
  hypervisor_version: number;
  host_ip: string | null;
  cpu_model: string;
  vcpus: number;
  memory_mb: number;
  local_gb: number;
  vcpus_used: number;
  /** Claims plus the host's reserved memory, as Nova counts it. */
  memory_mb_used: number;
  /** Claims plus the host's reserved disk. */
  local_gb_used: number;
  running_vms: number;
  /** Instances on the host with a task under way. */
  current_workload: number;
}

export interface NodeFilter {
  /** Substring of hypervisor_hostname (SQL LIKE, case-insensitive, as Nova's search). */
  pattern?: string;
  /** Only the node with this integer id, or (2.53) this uuid. */
  id?: number | string;
  /** Nodes after the one with this id (integer) or uuid, in id order. */
  after?: number | string;
  limit?: number;
}

const SELECT_NODES = `
  SELECT cn.id, cn.uuid, cn.host, cn.hypervisor_hostname, cn.hypervisor_type, to_jsonb(cn) ->> 'hypervisor_version' AS hypervisor_version,
         cn.host_ip, cn.cpu_model, cn.vcpus, cn.memory_mb, cn.local_gb,
         COALESCE(a.vcpus, 0)::int AS vcpus_used,
         (COALESCE(a.memory_mb, 0) + cn.reserved_memory_mb)::int AS memory_mb_used,
         (COALESCE(a.disk_gb, 0) + cn.reserved_disk_gb)::int AS local_gb_used,
         COALESCE(i.running, 0)::int AS running_vms, COALESCE(i.busy, 0)::int AS current_workload
    FROM compute_nodes cn
    LEFT JOIN (SELECT host, sum(vcpus) AS vcpus, sum(memory_mb) AS memory_mb, sum(disk_gb) AS disk_gb FROM allocations GROUP BY host) a
      ON a.host = cn.host
    LEFT JOIN (SELECT host, count(*) AS running, count(*) FILTER (WHERE task_state IS NOT NULL) AS busy
                 FROM instances WHERE deleted_at IS NULL GROUP BY host) i
      ON i.host = cn.host`;

export async function loadNodes(ds: DataSource, filter: NodeFilter = {}): Promise<NodeUsage[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const param = (v: unknown) => `$${params.push(v)}`;
  if (filter.pattern !== undefined) where.push(`cn.hypervisor_hostname ILIKE '%' || ${param(filter.pattern)} || '%'`);
  if (filter.id !== undefined) where.push(`${typeof filter.id === 'number' ? 'cn.id' : 'cn.uuid'} = ${param(filter.id)}`);
  if (filter.after !== undefined) {
    const key = typeof filter.after === 'number' ? 'id' : 'uuid';
    where.push(`cn.id > (SELECT id FROM compute_nodes WHERE ${key} = ${param(filter.after)})`);
  }
  const limit = filter.limit !== undefined ? ` LIMIT ${param(filter.limit)}` : '';
  const rows: (Omit<NodeUsage, 'hypervisor_version'> & { hypervisor_version: string | null })[] = await ds.query(
    `${SELECT_NODES}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY cn.id${limit}`, params,
  );
  return rows.map((r) => ({ ...r, hypervisor_version: r.hypervisor_version !== null ? Number(r.hypervisor_version) : DEFAULT_HYPERVISOR_VERSION }));
}

/** Whether a marker names a node (by integer id, or uuid from 2.53). */
export async function nodeExists(ds: DataSource, marker: number | string): Promise<boolean> {
  const rows: unknown[] = await ds.query(`SELECT 1 FROM compute_nodes WHERE ${typeof marker === 'number' ? 'id' : 'uuid'} = $1`, [marker]);
  return rows.length > 0;
}

export interface HostedServer {
  name: string;
  uuid: string;
}

/** The servers on each host, oldest first, named as the hypervisor names them. */
export async function serversByHost(ds: DataSource, hosts: string[]): Promise<Map<string, HostedServer[]>> {
  const byHost = new Map<string, HostedServer[]>();
  if (hosts.length === 0) return byHost;
  const rows: { host: string; uuid: string }[] = await ds.query(
    'SELECT host, uuid FROM instances WHERE host = ANY($1) AND deleted_at IS NULL ORDER BY created_at, uuid', [hosts],
  );
  for (const r of rows) {
    const list = byHost.get(r.host) ?? [];
    list.push({ name: guestName(r.uuid), uuid: r.uuid });
    byHost.set(r.host, list);
  }
  return byHost;
}
