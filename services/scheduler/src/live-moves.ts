// live_migrate_server: claim a destination for the live migration the API recorded, and hand it to that host's checks.
import {
  advanceMigration, claimResources, flavorResources, getInstance, getMigration, listAllocations, recordInstanceFault, updateInstanceIf,
  withActionEvent,
} from '@ferry/common/db';
import { NoValidHost, REQUESTED_AZ_KEY, type LiveMigrationData, type RequestSpec, type Selection } from '@ferry/common/domain';
import { exceptionPayload, novaObject } from '@ferry/common/notify';
import type { RequestContext } from '@ferry/common/rpc';
import type { ComputeRpcApi } from '@ferry/compute';
import { loadHostStates } from './load-hosts';
import type { MoveSchedulerDeps } from './moves';
import { placeInstance } from './placement';

export const LIVE_MIGRATE_EVENT = 'conductor_live_migrate_instance';

export type LiveSchedulerDeps = Omit<MoveSchedulerDeps, 'compute'> & {
  compute: Pick<ComputeRpcApi, 'checkCanLiveMigrateDestination'>;
};

export async function liveMigrateServer(deps: LiveSchedulerDeps, ctx: RequestContext, migrationId: number): Promise<void> {
  const { ds, log } = deps;
  const m = await getMigration(ds, migrationId);
  if (!m || m.migration_type !== 'live-migration' || m.status !== 'accepted') {
    log.info({ migration_id: migrationId, status: m?.status }, 'live migration no longer awaits a destination; ignored');
    return;
  }
  const instance = await getInstance(ds, m.instance_uuid);
  if (!instance || instance.deleted_at || instance.task_state !== 'migrating' || instance.host !== m.source_compute) {
    await advanceMigration(ds, m.id, ['accepted'], 'error', { last_error: 'instance changed before a destination was chosen' });
    return;
  }
  const data = m.migrate_data as unknown as LiveMigrationData;
  const spec: RequestSpec = {
    flavor: instance.flavor, image_ref: instance.image_ref, project_id: instance.project_id,
    availability_zone: instance.system_metadata?.[REQUESTED_AZ_KEY] ?? null,
    ...(data.requested_host ? { force_hosts: [data.requested_host] } : {}),
    ignore_hosts: [m.source_compute!], num_attempts: 1,
  };
  let selection: Selection;
  try {
    selection = await withActionEvent(ds, ctx, instance.uuid, LIVE_MIGRATE_EVENT, null, async () => {
      const held = (await listAllocations(ds, { consumer_uuid: instance.uuid })).find((a) => a.host !== instance.host)?.host;
      if (data.force && data.requested_host && !held) return forcedSelection(deps, instance.uuid, data.requested_host, spec);
      const hosts = await loadHostStates(ds, deps.config.serviceDownSeconds);
      return placeInstance(hosts, instance.uuid, spec, { claim: (c) => claimResources(ds, c), maxAttempts: deps.config.schedulerMaxAttempts, heldHost: held });
    });
  } catch (err) {
    const e = err as Error;
    if (!(await advanceMigration(ds, m.id, ['accepted'], 'error', { last_error: e.message.slice(0, 2000) }))) return;
    await recordInstanceFault(ds, { instance_uuid: instance.uuid, code: 500, message: e.message, details: err instanceof NoValidHost ? null : (e.stack ?? null), host: null });
    await updateInstanceIf(ds, instance.uuid, { task_states: ['migrating'], host: instance.host }, { task_state: null });
    log.warn({ migration_id: m.id, instance_uuid: instance.uuid, err: e.message }, 'no destination for the live migration; the instance stays where it runs');
    await deps.notifier?.error('compute_task.migrate_server.error', () =>
      novaObject('ComputeTaskPayload', '1.0', { instance_uuid: instance.uuid, reason: exceptionPayload(err), state: instance.vm_state }));
    return;
  }
  log.info({ migration_id: m.id, instance_uuid: instance.uuid, dest: selection.host, alternates: selection.alternates }, 'live migration destination claimed');
  await deps.compute.checkCanLiveMigrateDestination(ctx, selection.host, m.id, selection.alternates, 1);
}

/** 2.30–2.67 `force`: the named host, claimed without the filters (the claim still refuses a host without room). */
async function forcedSelection(deps: LiveSchedulerDeps, uuid: string, host: string, spec: RequestSpec): Promise<Selection> {
  if (await claimResources(deps.ds, { consumer_uuid: uuid, host, ...flavorResources(spec.flavor) })) return { instance_uuid: uuid, host, node: host, alternates: [] };
  throw new NoValidHost(`No valid host was found. Host ${host} has no room for the instance.`, { host });
}
