// A live migration as each step reads it: the record, its instance, and the request data the API stored.
import { getMigrationAndInstance, type Instance, type Migration } from '@ferry/common/db';
import { DIRTY_RATE_METADATA_KEY, VM_STATES, type LiveMigrationData, type MigrationPolicy } from '@ferry/common/domain';
import { contextFromWire, type RequestContext } from '@ferry/common/rpc';
import type { DataSource } from 'typeorm';
import { vmSpecOf } from '../compute-context';
import type { LiveMigrationOptions, VmSpec } from '../drivers';

export interface LiveMove {
  migration: Migration;
  instance: Instance | undefined;
  /** The properties of the instance's image, read with it (a layer of its migration policy). */
  imageProperties: Readonly<Record<string, string>> | null;
  data: LiveMigrationData;
  ctx: RequestContext;
}

export async function loadLiveMove(ds: DataSource, migrationId: number): Promise<LiveMove | undefined> {
  const found = await getMigrationAndInstance(ds, migrationId);
  if (!found || found.migration.migration_type !== 'live-migration') return undefined;
  const { migration, instance, imageProperties } = found;
  const data = migration.migrate_data as unknown as LiveMigrationData;
  return { migration, instance: instance && !instance.deleted_at ? instance : undefined, imageProperties, data, ctx: contextFromWire(data.request_context) };
}

/** A paused guest arrives paused; every other one runs. */
export function arrivesPaused(data: LiveMigrationData): boolean {
  return data.old_vm_state === VM_STATES.PAUSED;
}

/** The driver options of this move, from its migration policy, the record and (the fake driver's dirty rate) the instance's metadata. */
export function liveOptions(move: LiveMove, policy: MigrationPolicy): LiveMigrationOptions {
  const mib = Number(move.instance?.metadata?.[DIRTY_RATE_METADATA_KEY]);
  return {
    destHost: move.migration.dest_compute!,
    blockMigration: move.data.block_migration_resolved ?? false,
    maxDowntimeMs: policy.max_downtime_ms,
    autoConverge: policy.auto_converge,
    postCopyAllowed: policy.post_copy,
    bandwidthBytesPerSec: policy.bandwidth_bytes_per_s,
    ...(Number.isFinite(mib) && mib >= 0 ? { dirtyRateBytesPerSec: mib * 1024 * 1024 } : {}),
  };
}

export function liveVmSpec(instance: Instance): VmSpec {
  return vmSpecOf(instance);
}
