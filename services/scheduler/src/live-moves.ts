// live_migrate_server: claim a destination for the live migration the API recorded, and hand it to that host's checks.
import { advanceMigration, getMigrationAndInstance, recordInstanceFault, type EventedResult } from '@ferry/common/db';
import { updateInstanceAsScheduler } from '@ferry/common/scheduling';
import type { LiveMigrationData, Selection } from '@ferry/common/domain';
import type { RequestContext } from '@ferry/common/rpc';
import type { ComputeRpcApi } from '@ferry/compute/client';
import { claimMoveDestination, moveRequestSpec, noDestinationFault, reportNoDestination, type MoveDestinationDeps } from './move-destination';
import { crashPoint } from '@ferry/common/chaos';

export const LIVE_MIGRATE_EVENT = 'conductor_live_migrate_instance';

export interface LiveSchedulerDeps extends MoveDestinationDeps {
  compute: Pick<ComputeRpcApi, 'checkCanLiveMigrateDestination'>;
}

export async function liveMigrateServer(deps: LiveSchedulerDeps, ctx: RequestContext, migrationId: number): Promise<void> {
  const { ds, log } = deps;
  const found = await getMigrationAndInstance(ds, migrationId);
  const m = found?.migration;
  if (!m || m.migration_type !== 'live-migration' || m.status !== 'accepted') {
    log.info({ migration_id: migrationId, status: m?.status }, 'live migration no longer awaits a destination; ignored');
    return;
  }
  const instance = found!.instance;
  if (!instance || instance.deleted_at || instance.task_state !== 'migrating' || instance.host !== m.source_compute) {
    await advanceMigration(ds, m.id, ['accepted'], 'error', 'scheduler', { last_error: 'instance changed before a destination was chosen' });
    return;
  }
  const data = m.migrate_data as unknown as LiveMigrationData;
  const spec = moveRequestSpec(instance, instance.flavor, data.requested_host);
  let claimed: EventedResult<Selection>;
  try {
    claimed = await claimMoveDestination(deps, ctx, instance, spec, LIVE_MIGRATE_EVENT, data.force === true);
  } catch (err) {
    const fault = noDestinationFault(err);
    if (!(await advanceMigration(ds, m.id, ['accepted'], 'error', 'scheduler', { last_error: fault.message.slice(0, 2000) }))) return;
    await recordInstanceFault(ds, { instance_uuid: instance.uuid, code: 500, ...fault, host: null });
    await updateInstanceAsScheduler(ds, instance.uuid, { task_states: ['migrating'], host: instance.host }, { task_state: null });
    await reportNoDestination(deps, instance, err, { migration_id: m.id });
    return;
  }
  const selection = claimed.result;
  log.info({ migration_id: m.id, instance_uuid: instance.uuid, dest: selection.host, alternates: selection.alternates }, 'live migration destination claimed');
  crashPoint('scheduler.live.after_claim');
  try {
    await deps.compute.checkCanLiveMigrateDestination(ctx, selection.host, m.id, selection.alternates, 1);
  } finally {
    await claimed.closed;
  }
}
