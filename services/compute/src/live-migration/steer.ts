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
    const job = c.liveJobs.get(migrationId);
    if (job) {
      job.abort();
      return;
    }
    // Not transferring yet (the API may have said so already): a run waiting for a slot leaves the queue and rolls
    // back at once; one preparing sees `cancelled` before Perform.
    if ((await advanceMigration(c.ds, migrationId, ['queued', 'preparing'], 'cancelled')) || move.migration.status === 'cancelled') {
      c.slotWaits.get(migrationId)?.abort();
      return;
    }
    // Running, with Perform still starting the job: the run aborts it as soon as it has it.
    if (c.activeMoves.has(migrationId)) c.pendingSteering.set(migrationId, 'abort');
  });
  c.log.info({ migration_id: migrationId }, 'live migration abort requested');
}

export async function liveMigrationForceComplete(c: ComputeContext, _ctx: RequestContext, migrationId: number): Promise<void> {
  const move = await loadLiveMove(c.ds, migrationId);
  const job = c.liveJobs.get(migrationId);
  if (!move?.instance || (!job && !c.activeMoves.has(migrationId))) {
    c.log.info({ migration_id: migrationId }, 'no running live migration here to force; ignored');
    return;
  }
  await instanceNotification(c, 'instance.live_migration_force_complete', move.instance, async () => {
    if (job) job.forceComplete();
    else if (c.pendingSteering.get(migrationId) !== 'abort') c.pendingSteering.set(migrationId, 'force_complete');
  });
  c.log.info({ migration_id: migrationId, postcopy: c.config.livePermitPostCopy }, 'live migration forced to complete');
}
