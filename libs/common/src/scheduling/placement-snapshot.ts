// What a placement reads, in one statement: every compute node with its allocations summed, every service with the
// database clock their heartbeats are judged on, and the hosts where each consumer asked about already holds a claim.
// One snapshot, so the capacities, the services and the consumers' claims agree with each other; placements asked at
// once may share it (the scheduler's PlacementReads).
import type { DataSource } from 'typeorm';
import { queryPrepared, type HostCapacity } from '../db';
import type { ServiceRecord } from '../service/status';

export interface PlacementSnapshot {
  capacities: HostCapacity[];
  services: ServiceRecord[];
  /** The database's clock as the snapshot was taken. */
  now: Date;
  /** Hosts where a consumer the snapshot was asked for holds a claim, oldest claim first (none for any other). */
  heldHostsOf(consumerUuid: string): string[];
}

interface SnapshotRow {
  db_now: Date;
  capacities: HostCapacity[];
  services: (Omit<ServiceRecord, 'last_seen_up'> & { last_seen_up: string | null })[];
  held_hosts: Record<string, string[]>;
}

/** The snapshot, with the claims of `consumerUuids` (none asked: only what every placement shares). */
export async function readPlacementSnapshot(ds: DataSource, consumerUuids: readonly string[] = []): Promise<PlacementSnapshot> {
  const [row] = await queryPrepared<SnapshotRow>(ds, 'ferry_placement_snapshot',
    `SELECT now() AS db_now,
            coalesce((SELECT json_agg(c ORDER BY c.host) FROM (
               SELECT n.host, n.hypervisor_hostname AS node, n.availability_zone, n.vcpus, n.memory_mb, n.local_gb,
                      n.reserved_vcpus, n.reserved_memory_mb, n.reserved_disk_gb,
                      n.cpu_allocation_ratio::float8 AS cpu_allocation_ratio, n.ram_allocation_ratio::float8 AS ram_allocation_ratio,
                      n.disk_allocation_ratio::float8 AS disk_allocation_ratio,
                      coalesce(a.vcpus, 0)::int AS vcpus_used, coalesce(a.memory_mb, 0)::int AS memory_mb_used, coalesce(a.disk_gb, 0)::int AS disk_gb_used
                 FROM compute_nodes n
                 LEFT JOIN (SELECT host, sum(vcpus) AS vcpus, sum(memory_mb) AS memory_mb, sum(disk_gb) AS disk_gb FROM allocations GROUP BY host) a
                   ON a.host = n.host) c), '[]'::json) AS capacities,
            coalesce((SELECT json_agg(s ORDER BY s.host, s."binary") FROM (
               SELECT host, "binary", topic, disabled, disabled_reason, forced_down, last_seen_up FROM services) s), '[]'::json) AS services,
            coalesce((SELECT json_object_agg(h.consumer_uuid, h.hosts) FROM (
               SELECT consumer_uuid, array_agg(host ORDER BY id) AS hosts FROM allocations
                WHERE consumer_uuid = ANY($1::uuid[]) GROUP BY consumer_uuid) h), '{}'::json) AS held_hosts`,
    [consumerUuids]);
  return {
    capacities: row!.capacities,
    services: row!.services.map((s) => ({ ...s, last_seen_up: s.last_seen_up === null ? null : new Date(s.last_seen_up) })),
    now: new Date(row!.db_now),
    // Postgres writes a uuid key in lower case.
    heldHostsOf: (uuid) => (Object.hasOwn(row!.held_hosts, uuid.toLowerCase()) ? row!.held_hosts[uuid.toLowerCase()]! : []),
  };
}
