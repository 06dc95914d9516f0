// This compute's reconciler pass: the records it owns (it is their source) that were left past their deadline because
// a cast to it was lost. Each is handed to the step the cast would have run, which passes the same checks and CAS
// (and this process's own run registry): a late original message and the re-drive cannot both act.
import { claimStuck, type StuckKind } from '@ferry/common/db';
import type { ComputeContext, ComputeSettings } from '../compute-context';
import { loadLiveMove } from '../live-migration/live-record';
import { startLiveMigration } from '../live-migration/source';

interface HostRedrive {
  kind: StuckKind;
  deadline: keyof ComputeSettings & `reconcile${string}Seconds`;
}

/**
 * queued: checked and queued here, never started (the live_migration cast was lost, or the run died with the
 * process). cancelled: aborted while this host was down; the run sees `cancelled` and ends the move before it began.
 */
export const HOST_REDRIVES: readonly HostRedrive[] = [
  { kind: 'live_queued', deadline: 'reconcileLiveQueuedSeconds' },
  { kind: 'live_cancelled', deadline: 'reconcileLiveQueuedSeconds' },
];

/** Returns how many records it re-drove. */
export async function reconcileHost(c: ComputeContext): Promise<number> {
  const owner = `compute:${c.host}`;
  let actions = 0;
  for (const { kind, deadline } of HOST_REDRIVES) {
    for (const stuck of await claimStuck(c.ds, kind, c.config[deadline], c.host)) {
      const id = stuck.migration_id!;
      // A run of this process has it (waiting for a slot, or running): nothing was lost.
      if (c.stopping.aborted || c.activeMoves.has(id) || c.liveJobs.has(id)) continue;
      const move = await loadLiveMove(c.ds, id);
      if (!move) continue;
      c.log.info({ kind, migration_id: id, instance_uuid: stuck.instance_uuid, age_seconds: stuck.age_seconds, owner }, 're-driving a step left past its deadline');
      startLiveMigration(c, move.ctx, id);
      actions++;
    }
  }
  c.log.info({ owner, actions }, 'compute reconciler pass done');
  return actions;
}
