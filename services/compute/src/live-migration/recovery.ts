// A source compute that restarts: queued live migrations start again; one that was transferring lost its job with the
// process (libvirt's rule: the source restarted mid-migration → abort), so it rolls back; one whose Finish may have
// run goes forward (Finish is idempotent, then Confirm). Past Perform the destination is asked first what it runs
// (settle-after-perform); a periodic pass asks again for moves left unsettled (destination unreachable, database down).
// Which of these a status calls for is the domain's recovery table; this module only runs it.
import { openMigrationsOnHost, type Migration } from '@ferry/common/db';
import { recoveryFor, type LiveResumeStep, type RecoveryAction, type ServiceRole } from '@ferry/common/domain';
import { newRequestContext } from '@ferry/common/rpc';
import type { ComputeContext } from '../compute-context';
import { isBeingDeleted } from '../instance-ops/stop-move';
import { terminateInstance } from '../instance-ops/terminate';
import { loadLiveMove, type LiveMove } from './live-record';
import { rollBack, startLiveMigration } from './source';
import { settleAfterPerform, UNSETTLED_AFTER_PERFORM } from './settle-after-perform';

/** The handler of each step the recovery table may name for a live migration. */
const STEPS: Readonly<Record<LiveResumeStep, (c: ComputeContext, move: LiveMove) => void>> = {
  'start-live-migration': (c, move) => startLiveMigration(c, move.ctx, move.migration.id),
};

function rolesHere(c: ComputeContext, m: Migration): ServiceRole[] {
  return [...(m.source_compute === c.host ? ['source' as const] : []), ...(m.dest_compute === c.host ? ['dest' as const] : [])];
}

export async function recoverLiveMoves(c: ComputeContext): Promise<number> {
  let handled = 0;
  for (const m of await openMigrationsOnHost(c.ds, c.host, ['live-migration'])) {
    if (c.activeMoves.has(m.id) || c.live.running(m.id)) continue;
    const move = await loadLiveMove(c.ds, m.id);
    if (!move) continue;
    const entries = rolesHere(c, m).map((role) => recoveryFor(m.migration_type, m.status, role));
    if (isBeingDeleted(move.instance)) {
      if (!entries.some((e) => e.whenDeleting === 'drop')) continue;
      // A delete this host missed while it was down: drop its side of the move (and finish the delete if it is the owner).
      handled++;
      await terminateInstance(c, newRequestContext(), m.instance_uuid).catch((err: unknown) =>
        c.log.error({ migration_id: m.id, err: (err as Error).message }, 'cannot drop the live migration of a deleted instance'));
      continue;
    }
    const action = entries.map((e) => e.action).find((a) => a.kind !== 'wait');
    if (!action || !move.instance) continue;
    handled++;
    c.log.info({ migration_id: m.id, status: m.status, action: action.kind }, 'resuming a live migration after a restart');
    await run(c, move, action);
  }
  return handled;
}

async function run(c: ComputeContext, move: LiveMove, action: Exclude<RecoveryAction, { kind: 'wait' }>): Promise<void> {
  const why = new Error(`source compute ${c.host} restarted during the live migration`);
  switch (action.kind) {
    case 'resume':
      STEPS[action.step as LiveResumeStep](c, move);
      return;
    case 'rollback':
      await rollBack(c, move.ctx, move, why, 'failed');
      return;
    case 'settle':
      await settleHere(c, move, why);
  }
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
    if (c.activeMoves.has(m.id) || c.live.running(m.id)) continue;
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
