// What the live dashboard shows, read from the database in one pass: hosts with capacity, usage and instances, the
// moves under way with their progress counters, and the drains (open ones and the last few ended).
import type { DataSource } from 'typeorm';
import { listDrains, openMigrations, type Migration } from '@ferry/common/db';
import { inFlightStatuses } from '@ferry/common/domain';
import { drainSummary, type DrainSummary } from '../compute/ferry-host-drains/view';
import { loadNodes } from '../compute/hypervisors/nodes';
import { COMPUTE_BINARY, loadServicesByHost } from '../compute/services/service-rows';

/** Ended drains the dashboard keeps showing under the open ones. */
export const ENDED_DRAINS_SHOWN = 5;

export interface DashboardHost {
  host: string;
  /** The compute service: up or down by its heartbeat, `unknown` when the host has no service row. */
  state: 'up' | 'down' | 'unknown';
  status: 'enabled' | 'disabled';
  disabled_reason: string | null;
  vcpus: number;
  vcpus_used: number;
  memory_mb: number;
  memory_mb_used: number;
  local_gb: number;
  local_gb_used: number;
  /** Instances placed on the host. */
  instances: number;
  /** Of those, the ones with a task under way. */
  busy: number;
}

/** Fields of the move record the dashboard shows. */
const MIGRATION_FIELDS = [
  'id', 'uuid', 'instance_uuid', 'migration_type', 'status', 'source_compute', 'dest_compute',
  'memory_total', 'memory_processed', 'memory_remaining', 'disk_total', 'disk_processed', 'disk_remaining',
] as const;

export type DashboardMigration = Pick<Migration, (typeof MIGRATION_FIELDS)[number]> & {
  /** Percent of the bytes to move that moved (memory and disk together); null before the counters start. */
  progress: number | null;
  created_at: string;
};

export interface DashboardSnapshot {
  hosts: DashboardHost[];
  migrations: DashboardMigration[];
  drains: DrainSummary[];
}

export async function dashboardSnapshot(ds: DataSource, downSeconds: number): Promise<DashboardSnapshot> {
  const nodes = await loadNodes(ds);
  const services = await loadServicesByHost(ds, downSeconds, COMPUTE_BINARY, nodes.map((n) => n.host));
  const hosts = nodes.map((n): DashboardHost => {
    const svc = services.get(n.host);
    return {
      host: n.host, state: svc?.state ?? 'unknown', status: svc?.disabled ? 'disabled' : 'enabled', disabled_reason: svc?.disabled_reason ?? null,
      vcpus: n.vcpus, vcpus_used: n.vcpus_used, memory_mb: n.memory_mb, memory_mb_used: n.memory_mb_used, local_gb: n.local_gb, local_gb_used: n.local_gb_used,
      instances: n.running_vms, busy: n.current_workload,
    };
  });
  const migrations = (await openMigrations(ds))
    .filter((m) => inFlightStatuses(m.migration_type).includes(m.status as never))
    .map(migrationRow);
  const drains = [...await listDrains(ds, { open: true }), ...await listDrains(ds, { open: false, limit: ENDED_DRAINS_SHOWN })];
  return { hosts, migrations, drains: await Promise.all(drains.map((d) => drainSummary(ds, d))) };
}

function migrationRow(m: Migration): DashboardMigration {
  const fields = Object.fromEntries(MIGRATION_FIELDS.map((k) => [k, m[k]])) as Pick<Migration, (typeof MIGRATION_FIELDS)[number]>;
  return { ...fields, progress: progressPercent(m), created_at: m.created_at.toISOString() };
}

/** Bytes moved over bytes to move, memory and disk together, as a whole percent (0-100). */
export function progressPercent(m: Pick<Migration, 'memory_total' | 'memory_processed' | 'disk_total' | 'disk_processed'>): number | null {
  const total = (m.memory_total ?? 0) + (m.disk_total ?? 0);
  if (total <= 0) return null;
  const done = (m.memory_processed ?? 0) + (m.disk_processed ?? 0);
  return Math.min(100, Math.floor((done / total) * 100));
}
