// The allocations table: resource claims on a host, taken atomically so no host is ever overcommitted.
import type { DataSource } from 'typeorm';
import { Allocation, type InstanceFlavor } from '../entities';

/** What one consumer takes from a host. */
export interface Resources {
  vcpus: number;
  memory_mb: number;
  disk_gb: number;
}

export interface ResourceClaim extends Resources {
  /** Instance uuid (or a migration uuid holding a move's other side). */
  consumer_uuid: string;
  host: string;
}

/** What a flavor takes on a host: its vCPUs, its RAM, and root + ephemeral + swap (rounded up to GiB) of disk. */
export function flavorResources(flavor: Pick<InstanceFlavor, 'vcpus' | 'memory_mb' | 'root_gb' | 'ephemeral_gb' | 'swap'>): Resources {
  return {
    vcpus: flavor.vcpus,
    memory_mb: flavor.memory_mb,
    disk_gb: flavor.root_gb + (flavor.ephemeral_gb ?? 0) + Math.ceil((flavor.swap ?? 0) / 1024),
  };
}

/**
 * Claims `claim` on its host if the host still has room for it counting every allocation there, and
 * reports whether the consumer now holds a claim on that host (true also when it already did).
 *
 * Why it cannot overcommit: every claim first locks the host's compute_nodes row (FOR UPDATE), so claims
 * on one host run one after another; the capacity check and insert is a second statement, which under
 * READ COMMITTED takes a fresh snapshot after the lock was granted and therefore sees every allocation
 * committed by the claims before it. Releases only lower usage and need no lock. The transaction is two
 * short statements and never waits on anything but that row lock.
 *
 * Capacity per resource is Placement's: floor((total - reserved) × allocation ratio); a resource the
 * claim does not ask for (0) is not checked.
 */
export async function claimResources(ds: DataSource, claim: ResourceClaim): Promise<boolean> {
  return ds.transaction('READ COMMITTED', async (tx) => {
    const node: unknown[] = await tx.query('SELECT id FROM compute_nodes WHERE host = $1 FOR UPDATE', [claim.host]);
    if (node.length === 0) return false;
    // One statement after the lock: a claim the consumer already holds here (a repeated request) counts as won and
    // is not counted twice; otherwise the capacity check and insert.
    const [{ holds }]: { holds: boolean }[] = await tx.query(
      `WITH held AS (SELECT id FROM allocations WHERE consumer_uuid = $1 AND host = $2),
            inserted AS (
              INSERT INTO allocations (consumer_uuid, host, vcpus, memory_mb, disk_gb)
              SELECT $1, n.host, $3, $4, $5
                FROM compute_nodes n,
                     LATERAL (SELECT coalesce(sum(a.vcpus), 0) AS vcpus, coalesce(sum(a.memory_mb), 0) AS memory_mb,
                                     coalesce(sum(a.disk_gb), 0) AS disk_gb
                                FROM allocations a WHERE a.host = n.host) used
               WHERE n.host = $2
                 AND NOT EXISTS (SELECT 1 FROM held)
                 AND ($3 = 0 OR used.vcpus + $3 <= floor((n.vcpus - n.reserved_vcpus) * n.cpu_allocation_ratio::float8))
                 AND ($4 = 0 OR used.memory_mb + $4 <= floor((n.memory_mb - n.reserved_memory_mb) * n.ram_allocation_ratio::float8))
                 AND ($5 = 0 OR used.disk_gb + $5 <= floor((n.local_gb - n.reserved_disk_gb) * n.disk_allocation_ratio::float8))
              ON CONFLICT (consumer_uuid, host) DO NOTHING
              RETURNING id)
       SELECT EXISTS (SELECT 1 FROM held) OR EXISTS (SELECT 1 FROM inserted) AS holds`,
      [claim.consumer_uuid, claim.host, claim.vcpus, claim.memory_mb, claim.disk_gb],
    );
    return holds;
  });
}

/** Frees the consumer's claim on host (or on every host when host is omitted); returns how many were freed. */
export async function releaseClaim(ds: DataSource, consumerUuid: string, host?: string): Promise<number> {
  const result = host === undefined
    ? await ds.getRepository(Allocation).delete({ consumer_uuid: consumerUuid })
    : await ds.getRepository(Allocation).delete({ consumer_uuid: consumerUuid, host });
  return result.affected ?? 0;
}

/** Frees the consumer's claim on host only if it is older than olderThanSeconds (a claim just made is a move starting). */
export async function releaseSettledClaim(ds: DataSource, consumerUuid: string, host: string, olderThanSeconds: number): Promise<number> {
  const result = await ds.createQueryBuilder().delete().from(Allocation)
    .where('consumer_uuid = :consumerUuid AND host = :host', { consumerUuid, host })
    .andWhere('updated_at < now() - make_interval(secs => :secs)', { secs: olderThanSeconds })
    .execute();
  return result.affected ?? 0;
}

export async function listAllocations(ds: DataSource, where: { host?: string; consumer_uuid?: string } = {}): Promise<Allocation[]> {
  return ds.getRepository(Allocation).find({ where, order: { host: 'ASC', id: 'ASC' } });
}
