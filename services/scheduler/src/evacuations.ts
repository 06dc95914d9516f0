// evacuate_server: claim a destination for the evacuation the API recorded, and hand the rebuild to that host.
import { advanceMigration, getMigrationAndInstance, recordInstanceFault, type EventedResult } from '@ferry/common/db';
import { updateInstanceAsScheduler } from '@ferry/common/scheduling';
import type { EvacuationRequestData, Selection } from '@ferry/common/domain';
import type { RequestContext } from '@ferry/common/rpc';
import type { DataSource } from 'typeorm';
import { crashPoint } from '@ferry/common/chaos';
import type { ComputeRpcApi } from '@ferry/compute/client';
import { claimMoveDestination, moveRequestSpec, noDestinationFault, reportNoDestination, type MoveDestinationDeps } from './move-destination';

/** Nova's conductor event for a rebuild (an evacuation is one). */
export const EVACUATE_EVENT = 'conductor_rebuild_server';

export interface EvacuationSchedulerDeps extends MoveDestinationDeps {
  compute: Pick<ComputeRpcApi, 'rebuildInstance'>;
}

export async function evacuateServer(deps: EvacuationSchedulerDeps, ctx: RequestContext, migrationId: number): Promise<void> {
  const { ds, log } = deps;
  const found = await getMigrationAndInstance(ds, migrationId);
  const m = found?.migration;
  if (!m || m.migration_type !== 'evacuation' || m.status !== 'accepted') {
    log.info({ migration_id: migrationId, status: m?.status }, 'evacuation no longer awaits a destination; ignored');
    return;
  }
  const instance = found!.instance;
  if (!instance || instance.deleted_at || instance.task_state !== 'rebuilding' || instance.host !== m.source_compute) {
    await advanceMigration(ds, m.id, ['accepted'], 'error', 'scheduler', { last_error: 'instance changed before a destination was chosen' });
    return;
  }
  const data = m.migrate_data as unknown as EvacuationRequestData;
  if (!(await takeBatchSlot(ds, m.id, data))) {
    log.info({ migration_id: m.id, batch: data.batch }, 'host evacuation at its concurrency: this one waits for a slot');
    return;
  }
  const spec = moveRequestSpec(instance, instance.flavor, data.requested_host);
  let claimed: EventedResult<Selection>;
  try {
    claimed = await claimMoveDestination(deps, ctx, instance, spec, EVACUATE_EVENT, data.force === true);
  } catch (err) {
    const fault = noDestinationFault(err);
    if (!(await advanceMigration(ds, m.id, ['accepted'], 'error', 'scheduler', { last_error: fault.message.slice(0, 2000) }))) return;
    await recordInstanceFault(ds, { instance_uuid: instance.uuid, code: 500, ...fault, host: null });
    // The server stays as it was (on its dead host, in its vm_state): the operator may evacuate it again.
    await updateInstanceAsScheduler(ds, instance.uuid, { task_states: ['rebuilding'], host: instance.host }, { task_state: null });
    await reportNoDestination(deps, instance, err, { migration_id: m.id });
    return;
  }
  const selection = claimed.result;
  log.info({ migration_id: m.id, instance_uuid: instance.uuid, dest: selection.host }, 'evacuation destination claimed');
  crashPoint('scheduler.evacuate.after_claim');
  try {
    await deps.compute.rebuildInstance(ctx, selection.host, m.id);
  } finally {
    await claimed.closed;
  }
}

/**
 * A whole-host evacuation runs at most `batch.concurrency` of its evacuations at once: one takes a slot here (marked
 * dispatched, under an advisory lock per batch so two schedulers never both take the last one) and holds it until its
 * record leaves accepted/pre-migrating. One that finds no slot stays accepted; the batch's progress poll and the
 * reconciler hand it back here. A lone evacuation (no batch), or one already dispatched (a repeated message), goes on.
 */
export async function takeBatchSlot(ds: DataSource, migrationId: number, data: EvacuationRequestData): Promise<boolean> {
  const batch = data.batch;
  if (!batch || data.dispatched) return true;
  return ds.transaction(async (em) => {
    await em.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`ferry-evacuation-batch:${batch.id}`]);
    const [{ n }] = (await em.query(
      `SELECT count(*)::int AS n FROM migrations
        WHERE migration_type = 'evacuation' AND deleted_at IS NULL AND migrate_data->'batch'->>'id' = $1
          AND (status = 'pre-migrating' OR (status = 'accepted' AND migrate_data->>'dispatched' = 'true'))`,
      [batch.id],
    )) as { n: number }[];
    if (n >= batch.concurrency) return false;
    const taken: unknown[] = await em.query(
      `WITH u AS (UPDATE migrations SET migrate_data = migrate_data || '{"dispatched": true}'::jsonb, updated_at = now()
                   WHERE id = $1 AND status = 'accepted' RETURNING id)
       SELECT id FROM u`,
      [migrationId],
    );
    return taken.length > 0;
  });
}
