// The allocations table: resource claims on a host, taken atomically so no host is ever overcommitted.
import type { DataSource } from 'typeorm';
import { Allocation, type InstanceFlavor } from '../entities';
import { queryPrepared } from '../prepared';

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
 * on one host run one after another; the capacity check and insert is a second statement in the database
 * function ferry_claim_resources, which (being VOLATILE) takes a fresh snapshot after the lock was granted and
 * therefore sees every allocation committed by the claims before it. Releases only lower usage and need no
 * lock. A claim is one round trip and one commit, and never waits on anything but that row lock.
 *
 * Capacity per resource is Placement's: floor((total - reserved) × allocation ratio); a resource the
 * claim does not ask for (0) is not checked.
 */
export async function claimResources(ds: DataSource, claim: ResourceClaim): Promise<boolean> {
  // One statement (see the claim-function migration): the lock, then the check and insert with a fresh snapshot.
  const [row] = await queryPrepared<{ holds: boolean }>(ds, 'ferry_claim_resources',
    'SELECT ferry_claim_resources($1, $2, $3, $4, $5) AS holds',
    [claim.consumer_uuid, claim.host, claim.vcpus, claim.memory_mb, claim.disk_gb]);
  return row?.holds === true;
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
