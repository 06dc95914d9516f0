// A source compute that restarts: queued live migrations start again; one that was transferring lost its job with the
// process (libvirt's rule: the source restarted mid-migration → abort), so it rolls back; one whose Finish may have
// run goes forward (Finish is idempotent, then Confirm).
import { openMigrationsOnHost } from '@ferry/common/db';
import { newRequestContext } from '@ferry/common/rpc';
import type { ComputeContext } from '../compute-context';
import { isBeingDeleted } from '../instance-ops/stop-move';
import { terminateInstance } from '../instance-ops/terminate';
import { loadLiveMove } from './live-record';
import { complete, rollBack, startLiveMigration } from './source';

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
    else if (m.status === 'preparing' || m.status === 'running') {
      await rollBack(c, move.ctx, move, new Error(`source compute ${c.host} restarted during the live migration`), 'failed');
    } else if (m.status === 'post-migrating') await complete(c, move.ctx, move, {});
  }
  return handled;
}
