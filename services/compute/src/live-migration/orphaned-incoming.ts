// A destination whose source went down mid-migration does not wait for it: the incoming VM (paused, never run here)
// and this host's claim are dropped as a rollback at the destination would. The record and the instance stay as they
// are, for the source: the guest lives there, and the source's own recovery rolls the migration back when it returns
// (its call to this host's rollback is then a no-op). A guest that already runs here is never touched.
import { incomingLiveMovesFromDownSources, listAllocations } from '@ferry/common/db';
import { COMPUTE_BINARY } from '@ferry/common/service';
import type { ComputeContext } from '../compute-context';
import { rollbackLiveMigrationAtDestination } from './destination-phases';
import { loadLiveMove } from './live-record';

/** Drops what incoming live migrations from down sources hold on this host; returns how many it dropped. */
export async function dropIncomingFromDownSources(c: ComputeContext): Promise<number> {
  const ids = await incomingLiveMovesFromDownSources(c.ds, c.host, COMPUTE_BINARY, c.config.serviceDownSeconds);
  let dropped = 0;
  for (const id of ids) {
    if (c.activeMoves.has(id)) continue;
    const move = await loadLiveMove(c.ds, id);
    if (!move?.instance) continue;
    // Dropped already (the claim goes last): nothing to do until the source returns.
    if ((await listAllocations(c.ds, { consumer_uuid: move.instance.uuid, host: c.host })).length === 0) continue;
    const fields = { migration_id: id, instance_uuid: move.instance.uuid, source: move.migration.source_compute, status: move.migration.status };
    try {
      await rollbackLiveMigrationAtDestination(c, move.ctx, id);
      dropped++;
      c.log.warn(fields, 'source compute of an incoming live migration is down: dropped the incoming VM and this host\'s claim; the source rolls the migration back when it returns');
    } catch (err) {
      c.log.error({ ...fields, err: (err as Error).message }, 'cannot drop the incoming VM of a live migration whose source is down');
    }
  }
  return dropped;
}
