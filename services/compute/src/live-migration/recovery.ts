// A source compute that restarts: queued live migrations start again; one that was transferring lost its job with the
// process (libvirt's rule: the source restarted mid-migration → abort), so it rolls back; one whose Finish may have
// run goes forward (Finish is idempotent, then Confirm).
import { openMigrationsOnHost } from '@ferry/common/db';
import type { ComputeContext } from '../compute-context';
import { loadLiveMove } from './live-record';
import { complete, rollBack, startLiveMigration } from './source';

export async function recoverLiveMoves(c: ComputeContext): Promise<number> {
  let handled = 0;
  for (const m of await openMigrationsOnHost(c.ds, c.host, ['live-migration'])) {
    if (m.source_compute !== c.host || c.activeMoves.has(m.id) || c.liveJobs.has(m.id)) continue;
    const move = await loadLiveMove(c.ds, m.id);
    if (!move?.instance) continue;
    handled++;
    c.log.info({ migration_id: m.id, status: m.status }, 'resuming a live migration after a restart');
    if (m.status === 'queued') startLiveMigration(c, move.ctx, m.id);
    else if (m.status === 'preparing' || m.status === 'running') {
      await rollBack(c, move.ctx, move, new Error(`source compute ${c.host} restarted during the live migration`), 'failed');
    } else if (m.status === 'post-migrating') await complete(c, move.ctx, move, {});
  }
  return handled;
}
