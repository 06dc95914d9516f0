// What Nova's compute API checks before it accepts a cold move or its revert: the source service, the new flavor,
// the requested host, the quota for an upsize, and the migration a confirm or revert acts on.
import type { DataSource } from 'typeorm';
import { Migration, type Instance, type InstanceFlavor } from '@ferry/common/db';
import { BadRequest, Conflict, RESIZE_AWAITING_CONFIRM_STATUS } from '@ferry/common/domain';
import { COMPUTE_BINARY } from '@ferry/compute/client';
import { DEFAULT_QUOTAS, projectUsage, QuotaExceeded, type ProjectUsage } from '../../limits/quotas';
import { computeServiceStates } from '../host-status';

/** 409 unless the compute service on host is up (disabled counts as up, as Nova's check_instance_host does). */
export async function requireComputeUp(ds: DataSource, host: string | null, downSeconds: number): Promise<void> {
  const up = host ? (await computeServiceStates(ds, [host], downSeconds)).get(host)?.up : false;
  // Nova's ServiceUnavailable: the host name stays out of what end users see.
  if (!up) throw new Conflict('Service is unavailable at this time.');
}

/** 400 for a new flavor the instance's disk cannot be resized to (Ferry has no volume-backed servers). */
export function checkDiskResize(uuid: string, current: InstanceFlavor, next: InstanceFlavor): void {
  if (next.root_gb === 0 && current.root_gb !== 0) {
    throw new BadRequest('Server disk was unable to be resized because: Resize to zero disk flavor is not allowed.');
  }
  if (next.root_gb < current.root_gb) {
    throw new BadRequest(
      `Resizing to a smaller disk flavor is not allowed. Flavor ${next.flavorid} has a ${next.root_gb} GB root disk, server ${uuid} has ${current.root_gb} GB.`,
    );
  }
}

/** Nova's 400 for each kind of move asked to go to the host the server is on. */
export const SAME_HOST_ERRORS = Object.freeze({
  /** CannotMigrateToSameHost (resize, migrate). */
  cold: () => new BadRequest('Cannot migrate to the host where the server exists.'),
  /** UnableToMigrateToSelf (os-migrateLive). */
  live: (instance: Instance) => new BadRequest(`Unable to migrate instance (${instance.uuid}) to current host (${instance.host}).`),
});

/** 400 for a requested destination that is the instance's own host or no compute host Ferry knows. */
export async function checkTargetHost(
  ds: DataSource, instance: Instance, host: string, sameHost: (instance: Instance) => BadRequest = SAME_HOST_ERRORS.cold,
): Promise<void> {
  if (host === instance.host) throw sameHost(instance);
  const known: unknown[] = await ds.query(
    `SELECT 1 FROM compute_nodes n JOIN services s ON s.host = n.host AND s."binary" = $2 WHERE n.host = $1 LIMIT 1`, [host, COMPUTE_BINARY],
  );
  if (known.length === 0) throw new BadRequest(`Compute host ${host} could not be found.`);
}

type MoveResource = 'cores' | 'ram';

/**
 * 403 when going from flavor `from` to `to` needs more cores or RAM than the project has left (Nova's
 * _check_quota_for_upsize: only the increase counts, and only for a resource that grows).
 */
export async function checkUpsizeQuota(ds: DataSource, projectId: string, from: InstanceFlavor, to: InstanceFlavor): Promise<void> {
  const delta: Record<MoveResource, number> = { cores: to.vcpus - from.vcpus, ram: to.memory_mb - from.memory_mb };
  const growing = (['cores', 'ram'] as const).filter((r) => delta[r] > 0 && DEFAULT_QUOTAS[r] >= 0);
  if (growing.length === 0) return;
  const usage: ProjectUsage = await projectUsage(ds, projectId);
  const overs = growing.filter((r) => usage[r] + delta[r] > DEFAULT_QUOTAS[r]);
  if (overs.length === 0) return;
  throw QuotaExceeded.forInstances(overs, { instances: '0', cores: String(delta.cores), ram: String(delta.ram) }, usage);
}

/** The instance's move waiting in VERIFY_RESIZE, or Nova's 400 when there is none. */
export async function migrationAwaitingConfirm(ds: DataSource, instanceUuid: string): Promise<Migration> {
  const migration = await ds.getRepository(Migration).findOne({
    where: { instance_uuid: instanceUuid, status: RESIZE_AWAITING_CONFIRM_STATUS },
    order: { id: 'DESC' },
  });
  if (!migration) throw new BadRequest('Instance has not been resized.');
  return migration;
}
