// Abort and force-complete, asked by the API and delivered to the source, which owns the running job.
import { advanceMigration } from '@ferry/common/db';
import type { RequestContext } from '@ferry/common/rpc';
import type { ComputeContext } from '../compute-context';
import { instanceNotification } from '../notifications';
import { loadLiveMove } from './live-record';

export async function liveMigrationAbort(c: ComputeContext, _ctx: RequestContext, migrationId: number): Promise<void> {
  const move = await loadLiveMove(c.ds, migrationId);
  if (!move?.instance || move.migration.source_compute !== c.host) return;
  await instanceNotification(c, 'instance.live_migration_abort', move.instance, async () => {
    // Not transferring yet (the API may have said so already): a run waiting for a slot leaves the queue and rolls
    // back at once; one preparing sees `cancelled` before Perform.
    if (!c.live.running(migrationId)) {
      if ((await advanceMigration(c.ds, migrationId, ['queued', 'preparing'], 'cancelled', 'source')) || move.migration.status === 'cancelled') {
        c.live.slotWaits.get(migrationId)?.abort();
        return;
      }
    }
    // Running (or it became so while the record was tried): the job's handle takes it.
    c.live.jobs.get(migrationId)?.abort();
  });
  c.log.info({ migration_id: migrationId }, 'live migration abort requested');
}

export async function liveMigrationForceComplete(c: ComputeContext, _ctx: RequestContext, migrationId: number): Promise<void> {
  const move = await loadLiveMove(c.ds, migrationId);
  const handle = c.live.jobs.get(migrationId);
  if (!move?.instance || !handle) {
    c.log.info({ migration_id: migrationId }, 'no running live migration here to force; ignored');
    return;
  }
  await instanceNotification(c, 'instance.live_migration_force_complete', move.instance, async () => handle.forceComplete());
  c.log.info({ migration_id: migrationId, postcopy: c.config.livePermitPostCopy }, 'live migration forced to complete');
}
