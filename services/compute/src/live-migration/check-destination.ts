// check_can_live_migrate_destination on the claimed destination: CPU model, shared storage, rescue support, then the
// source's own checks; queue the migration on the source, or move on to the next alternate, or fail the record.
import {
  advanceMigration, computeNodesOf, getMigration, patchMigration, recordInstanceFault, releaseClaim, updateInstanceIf, withActionEvent,
} from '@ferry/common/db';
import { MigrationPreCheckError, VM_STATES, type LiveMigrationData } from '@ferry/common/domain';
import type { RequestContext } from '@ferry/common/rpc';
import { claimNextAttempt } from '@ferry/common/scheduling';
import { RESCUED_CAPABILITY } from '../client/wire-types';
import type { ComputeContext } from '../compute-context';
import { loadLiveMove, type LiveMove } from './live-record';

export const CHECK_DEST_EVENT = 'compute_check_can_live_migrate_destination';

export async function checkCanLiveMigrateDestination(
  c: ComputeContext, ctx: RequestContext, args: { migration_id: number; alternates: string[]; num_attempts: number },
): Promise<void> {
  const move = await loadLiveMove(c.ds, args.migration_id);
  if (!move || move.migration.status !== 'accepted') {
    c.log.info({ migration_id: args.migration_id, status: move?.migration.status }, 'live migration not awaiting destination checks; ignored');
    return;
  }
  const { migration, instance } = move;
  if (!instance || instance.task_state !== 'migrating') {
    await releaseClaim(c.ds, migration.instance_uuid, c.host);
    await advanceMigration(c.ds, migration.id, ['accepted'], 'error', 'dest', { last_error: 'instance changed before the destination checks' });
    return;
  }
  let blockMigration: boolean;
  try {
    blockMigration = await withActionEvent(c.ds, ctx, instance.uuid, CHECK_DEST_EVENT, c.host, async () => {
      const block = await destinationChecks(c, move);
      await c.computeRpc.checkCanLiveMigrateSource(ctx, migration.source_compute!, migration.id);
      return block;
    });
  } catch (err) {
    await nextAlternateOrFail(c, ctx, move, args, err as Error);
    return;
  }
  const data: LiveMigrationData = { ...move.data, block_migration_resolved: blockMigration, alternates: args.alternates };
  const queued = await advanceMigration(c.ds, migration.id, ['accepted'], 'queued', 'dest', {
    dest_compute: c.host, dest_node: c.node, dest_host: c.host, migrate_data: data as unknown as Record<string, unknown>,
  });
  if (!queued) {
    // A repeated request lost to one that queued the move here: the claim is that move's (both shared it).
    if ((await getMigration(c.ds, migration.id))?.dest_compute !== c.host) await releaseClaim(c.ds, instance.uuid, c.host);
    return;
  }
  c.log.info({ migration_id: migration.id, instance_uuid: instance.uuid, source: migration.source_compute, block_migration: blockMigration }, 'live migration checked and queued on the source');
  await c.computeRpc.liveMigration(ctx, migration.source_compute!, migration.id);
}

/** Throws MigrationPreCheckError naming what does not fit; returns whether the disks must be copied. */
async function destinationChecks(c: ComputeContext, move: LiveMove): Promise<boolean> {
  const nodes = await computeNodesOf(c.ds, [move.migration.source_compute!, c.host]);
  const source = nodes.get(move.migration.source_compute!);
  const dest = nodes.get(c.host);
  if (!source || !dest) throw MigrationPreCheckError.because(`compute node of ${source ? c.host : move.migration.source_compute} not found`);
  if (source.cpu_model !== dest.cpu_model) {
    throw MigrationPreCheckError.because(`CPU model ${source.cpu_model} of host ${source.host} is not offered by host ${dest.host} (${dest.cpu_model})`);
  }
  if (move.instance!.vm_state === VM_STATES.RESCUED && !dest.capabilities?.[RESCUED_CAPABILITY]) {
    throw MigrationPreCheckError.because(`host ${dest.host} does not support live migration of rescued instances`);
  }
  const shared = source.storage_id === dest.storage_id;
  const requested = move.data.block_migration;
  if (requested === 'auto') return !shared;
  if (requested && shared) throw MigrationPreCheckError.because(`cannot block migrate: hosts ${source.host} and ${dest.host} share instance storage`);
  if (!requested && !shared) {
    throw MigrationPreCheckError.because(`hosts ${source.host} and ${dest.host} do not share instance storage; use block migration`);
  }
  return requested;
}

async function nextAlternateOrFail(
  c: ComputeContext, ctx: RequestContext, move: LiveMove, args: { migration_id: number; alternates: string[]; num_attempts: number }, err: Error,
): Promise<void> {
  const { migration } = move;
  const instance = move.instance!;
  c.log.warn({ migration_id: migration.id, err: err.message }, 'destination checks failed');
  await releaseClaim(c.ds, instance.uuid, c.host);
  const named = move.data.requested_host !== null;
  // A host the request named is the only one tried.
  const next = named ? undefined : await claimNextAttempt(c.ds, {
    consumer_uuid: instance.uuid, flavor: instance.flavor, alternates: args.alternates, exclude: [c.host, instance.host], attempt: args.num_attempts,
    maxAttempts: c.config.schedulerMaxAttempts, serviceDownSeconds: c.config.serviceDownSeconds,
  });
  if (next && 'host' in next) {
    await patchMigration(c.ds, migration.id, ['accepted'], { last_error: `${c.host}: ${err.message}`.slice(0, 2000) });
    await c.computeRpc.checkCanLiveMigrateDestination(ctx, next.host, migration.id, next.remaining, next.attempt);
    return;
  }
  // From 2.34 pre-checks are asynchronous: the record says why, the server stays as it was.
  if (!(await advanceMigration(c.ds, migration.id, ['accepted'], 'error', 'dest', { last_error: err.message.slice(0, 2000) }))) return;
  await recordInstanceFault(c.ds, { instance_uuid: instance.uuid, code: 400, message: err.message, host: c.host });
  await updateInstanceIf(c.ds, instance.uuid, { task_states: ['migrating'], host: migration.source_compute }, { task_state: null });
}
