// The destination's phases, each a call from the source: Prepare (an incoming VM, paused), Finish with success (the VM
// takes over and the database names this host) or with failure (the incoming VM is killed and the claim freed). The
// two never interleave for one migration here, and a Finish that arrives after the record left post-migrating (late or
// redelivered) starts nothing: the source may have resumed its copy.
import { releaseClaim, updateInstanceIf, withActionEvent } from '@ferry/common/db';
import { POWER_STATES } from '@ferry/common/domain';
import { instanceActionPayload } from '@ferry/common/notify';
import type { RequestContext } from '@ferry/common/rpc';
import type { ComputeContext } from '../compute-context';
import type { MigrationCookie } from '../client/wire-types';
import { instanceNotification } from '../notifications';
import { arrivesPaused, liveVmSpec, loadLiveMove, type LiveMove } from './live-record';
import { crashPoint } from '@ferry/common/chaos';

export const PRE_LIVE_MIGRATION_EVENT = 'compute_pre_live_migration';
export const POST_LIVE_MIGRATION_DEST_EVENT = 'compute_post_live_migration_at_destination';
export const ROLLBACK_LIVE_MIGRATION_DEST_EVENT = 'compute_rollback_live_migration_at_destination';

async function moveHere(c: ComputeContext, migrationId: number): Promise<LiveMove & { instance: NonNullable<LiveMove['instance']> }> {
  const move = await loadLiveMove(c.ds, migrationId);
  if (!move?.instance || move.migration.dest_compute !== c.host) throw new Error(`live migration ${migrationId} does not come to host ${c.host}`);
  return move as LiveMove & { instance: NonNullable<LiveMove['instance']> };
}

export async function preLiveMigration(c: ComputeContext, ctx: RequestContext, migrationId: number, cookie: MigrationCookie): Promise<MigrationCookie> {
  const move = await moveHere(c, migrationId);
  if (move.migration.status !== 'preparing') throw new Error(`live migration ${migrationId} is ${move.migration.status}, not preparing`);
  const prepared = await withActionEvent(c.ds, ctx, move.instance.uuid, PRE_LIVE_MIGRATION_EVENT, c.host, () =>
    instanceNotification(c, 'instance.live_migration_pre', move.instance, () =>
      c.driver.liveMigrationPrepare(liveVmSpec(move.instance), cookie, { blockMigration: move.data.block_migration_resolved ?? false })));
  crashPoint('live.dest.after_prepare', c.host);
  return prepared;
}

/**
 * Runs one destination step of the migration at a time on this host. A second one refuses rather than waits: its
 * caller (the source) learns nothing from it, so it keeps the guest paused and asks again later.
 */
async function oneStepAtATime<T>(c: ComputeContext, migrationId: number, step: () => Promise<T>): Promise<T> {
  if (c.activeMoves.has(migrationId)) throw new Error(`another step of live migration ${migrationId} is running on ${c.host}`);
  c.activeMoves.add(migrationId);
  try {
    return await step();
  } finally {
    c.activeMoves.delete(migrationId);
  }
}

export function postLiveMigrationAtDestination(c: ComputeContext, ctx: RequestContext, migrationId: number, cookie: MigrationCookie): Promise<MigrationCookie> {
  return oneStepAtATime(c, migrationId, () => finishHere(c, ctx, migrationId, cookie));
}

async function finishHere(c: ComputeContext, ctx: RequestContext, migrationId: number, cookie: MigrationCookie): Promise<MigrationCookie> {
  const move = await moveHere(c, migrationId);
  const { migration, instance } = move;
  // Only the source's own Finish of a transfer that completed may start the guest here: once the source decided
  // otherwise (failed, cancelled) its copy may be running again.
  if (migration.status !== 'post-migrating') throw new Error(`live migration ${migrationId} is ${migration.status}, not post-migrating; the guest is not started on ${c.host}`);
  const paused = arrivesPaused(move.data);
  return withActionEvent(c.ds, ctx, instance.uuid, POST_LIVE_MIGRATION_DEST_EVENT, c.host, () =>
    instanceNotification(c, 'instance.live_migration_post_dest', instance, async () => {
      const out = await c.driver.liveMigrationFinish(instance.uuid, cookie, { success: true, paused });
      crashPoint('live.dest.after_takeover', c.host);
      // The database names this host from here on: the source's Confirm destroys the copy it still holds (paused).
      await updateInstanceIf(c.ds, instance.uuid, { task_states: ['migrating'], host: [migration.source_compute, c.host] }, {
        host: c.host, node: c.node, power_state: paused ? POWER_STATES.PAUSED : POWER_STATES.RUNNING,
      });
      crashPoint('live.dest.before_reply', c.host);
      return out;
    }, () => instanceActionPayload(instance)));
}

export function rollbackLiveMigrationAtDestination(c: ComputeContext, ctx: RequestContext, migrationId: number): Promise<void> {
  return oneStepAtATime(c, migrationId, () => dropIncomingHere(c, ctx, migrationId));
}

async function dropIncomingHere(c: ComputeContext, ctx: RequestContext, migrationId: number): Promise<void> {
  const move = await moveHere(c, migrationId);
  const { instance } = move;
  if (instance.host === c.host) throw new Error(`instance ${instance.uuid} already runs on ${c.host}; refusing to kill it`);
  // The database may lag the hypervisor (a Finish that resumed the guest and then failed): the driver decides.
  const presence = await c.driver.guestPresence(instance.uuid);
  if (presence !== 'absent' && presence !== 'incoming') throw new Error(`instance ${instance.uuid} took over on ${c.host} (${presence}); refusing to kill it`);
  await withActionEvent(c.ds, ctx, instance.uuid, ROLLBACK_LIVE_MIGRATION_DEST_EVENT, c.host, () =>
    instanceNotification(c, 'instance.live_migration_rollback_dest', instance, async () => {
      await c.driver.liveMigrationFinish(instance.uuid, {}, { success: false, paused: false });
      await releaseClaim(c.ds, instance.uuid, c.host);
    }));
}
