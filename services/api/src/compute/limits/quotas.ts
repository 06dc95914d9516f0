// Per-project quotas (Nova's defaults; Ferry has no quota-set API) and the usage they are checked against.
import type { EntityManager } from 'typeorm';
import { Forbidden } from '@ferry/common/domain';

/** Nova's default quota values; -1 would mean unlimited. */
export const DEFAULT_QUOTAS = Object.freeze({
  instances: 10,
  cores: 20,
  ram: 51200,
  metadata_items: 128,
  injected_files: 5,
  injected_file_content_bytes: 10240,
  key_pairs: 100,
  server_groups: 10,
  server_group_members: 10,
});

export interface ProjectUsage {
  instances: number;
  cores: number;
  ram: number;
}

type Queryable = Pick<EntityManager, 'query'>;

/** What a project's live (not deleted) instances hold, counted from their flavors. */
export async function projectUsage(db: Queryable, projectId: string): Promise<ProjectUsage> {
  const [row] = await db.query(
    `SELECT count(*)::int AS instances,
            coalesce(sum((flavor->>'vcpus')::int), 0)::int AS cores,
            coalesce(sum((flavor->>'memory_mb')::int), 0)::int AS ram
       FROM instances WHERE project_id = $1 AND deleted_at IS NULL`,
    [projectId],
  );
  return { instances: row.instances, cores: row.cores, ram: row.ram };
}

type Resource = keyof ProjectUsage;
const RESOURCES: readonly Resource[] = ['cores', 'instances', 'ram'];

/** Nova's OverQuota for instances: "Quota exceeded for cores: Requested 4, but already used 18 of 20 cores". */
export class QuotaExceeded extends Forbidden {
  static forInstances(overs: Resource[], requested: Record<Resource, string>, usage: ProjectUsage) {
    const join = (f: (r: Resource) => string) => overs.map(f).join(', ');
    const names = join((r) => r);
    return new QuotaExceeded(
      `Quota exceeded for ${names}: Requested ${join((r) => requested[r])}, but already used ${join((r) => String(usage[r]))} of ${join((r) => String(DEFAULT_QUOTAS[r]))} ${names}`,
      { overs },
    );
  }
}

/**
 * How many of [minCount, maxCount] instances of a flavor fit in the project's quota: maxCount when they all
 * fit, fewer when at least minCount do (as Nova does), else QuotaExceeded (403).
 */
export function instancesThatFit(usage: ProjectUsage, flavor: { vcpus: number; memory_mb: number }, minCount: number, maxCount: number): number {
  const per: Record<Resource, number> = { instances: 1, cores: flavor.vcpus, ram: flavor.memory_mb };
  const headroom = (r: Resource) => (DEFAULT_QUOTAS[r] < 0 ? Infinity : DEFAULT_QUOTAS[r] - usage[r]);
  const overs = RESOURCES.filter((r) => DEFAULT_QUOTAS[r] >= 0 && usage[r] + per[r] * maxCount > DEFAULT_QUOTAS[r]);
  if (overs.length === 0) return maxCount;
  const allowed = Math.min(...RESOURCES.map((r) => (per[r] > 0 ? Math.floor(headroom(r) / per[r]) : Infinity)));
  if (allowed >= minCount && allowed > 0) return Math.min(allowed, maxCount);
  const requested: Record<Resource, string> = {
    instances: minCount === maxCount ? String(minCount) : `${minCount}-${maxCount}`,
    cores: String(per.cores * maxCount),
    ram: String(per.ram * maxCount),
  };
  throw QuotaExceeded.forInstances(overs, requested, usage);
}

/** Nova's MetadataLimitExceeded (403). */
export function checkMetadataQuota(metadata: Record<string, string> | undefined): void {
  const n = Object.keys(metadata ?? {}).length;
  if (n > DEFAULT_QUOTAS.metadata_items) throw new Forbidden(`Maximum number of metadata items exceeds ${DEFAULT_QUOTAS.metadata_items}`);
}
