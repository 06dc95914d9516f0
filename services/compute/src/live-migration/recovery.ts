// A source compute that restarts: queued live migrations start again; one that was transferring lost its job with the
// process (libvirt's rule: the source restarted mid-migration → abort), so it rolls back; one whose Finish may have
// run goes forward (Finish is idempotent, then Confirm). Past Perform the destination is asked first what it runs
// (settle-after-perform); a periodic pass asks again for moves left unsettled (destination unreachable, database down).
import { openMigrationsOnHost } from '@ferry/common/db';
import { newRequestContext } from '@ferry/common/rpc';
import type { ComputeContext } from '../compute-context';
import { isBeingDeleted } from '../instance-ops/stop-move';
import { terminateInstance } from '../instance-ops/terminate';
import { loadLiveMove, type LiveMove } from './live-record';
import { rollBack, startLiveMigration } from './source';
import { settleAfterPerform, UNSETTLED_AFTER_PERFORM } from './settle-after-perform';

export async function recoverLiveMoves(c: ComputeContext): Promise<number> {
  let handled = 0;
  for (const m of await openMigrationsOnHost(c.ds, c.host, ['live-migration'])) {
    if (c.activeMoves.has(m.id) || c.liveJobs.has(m.id)) continue;
    const move = await loadLiveMove(c.ds, m.id);
    if (!move) continue;
    if (isBeingDeleted(move.instance)) {
      // A delete this host missed while it was down: drop its side of the move (and finish the delete if it is the owner).
      handled++;
      await terminateInstance(c, newRequestContext(), m.instance_uuid).catch((err: unknown) =>
        c.log.error({ migration_id: m.id, err: (err as Error).message }, 'cannot drop the live migration of a deleted instance'));
      continue;
    }
    if (m.source_compute !== c.host || !move.instance) continue;
    handled++;
    c.log.info({ migration_id: m.id, status: m.status }, 'resuming a live migration after a restart');
    if (m.status === 'queued') startLiveMigration(c, move.ctx, m.id);
    else if (m.status === 'preparing') {
      await rollBack(c, move.ctx, move, new Error(`source compute ${c.host} restarted during the live migration`), 'failed');
    } else if (m.status === 'running' || m.status === 'post-migrating') {
      await settleHere(c, move, new Error(`source compute ${c.host} restarted during the live migration`));
    }
  }
  return handled;
}

/**
 * The periodic pass: a move past Perform that no run of this process drives (its destination could not answer, or
 * the database failed as Perform ended) is settled by asking the destination again; returns how many it tried.
 */
export async function settleUnsettledLiveMoves(c: ComputeContext): Promise<number> {
  let tried = 0;
  for (const m of await openMigrationsOnHost(c.ds, c.host, ['live-migration'])) {
    if (c.stopping.aborted) break;
    if (m.source_compute !== c.host || !(UNSETTLED_AFTER_PERFORM as readonly string[]).includes(m.status)) continue;
    if (c.activeMoves.has(m.id) || c.liveJobs.has(m.id)) continue;
    const move = await loadLiveMove(c.ds, m.id);
    if (!move?.instance || isBeingDeleted(move.instance)) continue;
    tried++;
    await settleHere(c, move, new Error(m.last_error ?? `live migration ${m.id} was left ${m.status} on ${c.host}`));
  }
  return tried;
}

async function settleHere(c: ComputeContext, move: LiveMove, why: Error): Promise<void> {
  const id = move.migration.id;
  if (c.activeMoves.has(id)) return;
  c.activeMoves.add(id);
  try {
    await settleAfterPerform(c, move.ctx, move, why);
  } finally {
    c.activeMoves.delete(id);
  }
}
