// After Perform the guest's state may already run on the destination (a Finish whose reply was lost): the source asks
// the destination's hypervisor before it touches its own paused copy. It resumes only when the destination has no copy
// that took over, finishes forward when it has one, and keeps its copy paused, saying why, when it cannot tell.
import { advanceMigration, getMigration, patchMigration } from '@ferry/common/db';
import { statusesRecoveredWith, type MigrationStatus } from '@ferry/common/domain';
import type { RequestContext } from '@ferry/common/rpc';
import type { ComputeContext } from '../compute-context';
import type { GuestPresence, MigrationCookie } from '../client/wire-types';
import type { LiveMove } from './live-record';
import { confirmHere, rollBack } from './source';

/**
 * The statuses in which Finish may have run, or may yet run: the source copy is paused until this settles them. They
 * are the statuses the recovery table has the source settle.
 */
export const UNSETTLED_AFTER_PERFORM: readonly MigrationStatus[] = statusesRecoveredWith('live-migration', 'source', 'settle');

export async function settleAfterPerform(c: ComputeContext, ctx: RequestContext, move: LiveMove, why: Error): Promise<void> {
  const { migration } = move;
  const dest = migration.dest_compute!;
  let presence: GuestPresence;
  try {
    ({ presence } = await c.computeRpc.getInstancePresence(ctx, dest, migration.instance_uuid));
  } catch (err) {
    await keepPaused(c, move, err as Error);
    return;
  }
  if (presence === 'absent' || presence === 'incoming') {
    // Rolling back resumes the copy here: with none here, the destination's incoming VM may hold the only copy of the
    // guest (a source whose copy was destroyed behind Ferry's back), so nothing is touched and cleanup decides.
    const here = await c.driver.guestPresence(migration.instance_uuid).catch((err: Error) => err);
    if (here instanceof Error || here === 'absent' || here === 'incoming') {
      const what = here instanceof Error ? `cannot see its own copy (${here.message})` : 'holds no copy of the guest';
      await keepPaused(c, move, new Error(`${c.host} ${what}; the destination's ${presence === 'incoming' ? 'incoming VM may hold the only one' : 'has none either'}: run cleanup`));
      return;
    }
    // The destination refuses to drop a copy that took over meanwhile (a Finish still in flight): then ask again later.
    try {
      await c.computeRpc.rollbackLiveMigrationAtDestination(ctx, dest, migration.id);
    } catch (err) {
      await keepPaused(c, move, err as Error);
      return;
    }
    await rollBack(c, ctx, move, why, 'failed', undefined, true);
    return;
  }
  c.log.warn({ migration_id: migration.id, instance_uuid: migration.instance_uuid, dest, presence, err: why.message },
    'Finish failed but the destination holds the guest: finishing the live migration forward');
  await finishForward(c, ctx, move);
}

/** The guest took over on the destination: Finish again (idempotent) so the database names it, then Confirm here. */
async function finishForward(c: ComputeContext, ctx: RequestContext, move: LiveMove): Promise<void> {
  const { migration } = move;
  // Finish runs only for a record in post-migrating (a late Finish must not start a guest the source resumed).
  if (!(await advanceMigration(c.ds, migration.id, ['running'], 'post-migrating', 'source'))
    && (await getMigration(c.ds, migration.id))?.status !== 'post-migrating') {
    c.log.warn({ migration_id: migration.id }, 'live migration changed while finishing forward; left to recovery');
    return;
  }
  let cookie: MigrationCookie;
  try {
    cookie = await c.computeRpc.postLiveMigrationAtDestination(ctx, migration.dest_compute!, migration.id, {});
  } catch (err) {
    await keepPaused(c, move, err as Error);
    return;
  }
  await confirmHere(c, move, cookie);
}

/** Neither copy is touched: the record says why, and the periodic recovery asks the destination again. */
async function keepPaused(c: ComputeContext, move: LiveMove, err: Error): Promise<void> {
  const { migration } = move;
  const reason = `source kept paused: cannot tell whether ${migration.dest_compute} runs the guest (${err.message})`;
  c.log.error({ migration_id: migration.id, instance_uuid: migration.instance_uuid, dest: migration.dest_compute }, reason);
  await patchMigration(c.ds, migration.id, UNSETTLED_AFTER_PERFORM, { last_error: reason.slice(0, 2000) }).catch((dbErr: unknown) =>
    c.log.error({ migration_id: migration.id, err: (dbErr as Error).message }, 'cannot record why the source copy stays paused'));
}
