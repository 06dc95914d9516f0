// migrate_server: claim a destination for a cold move (migration or resize) and hand the move to it.
import type { FerryConfig } from '@ferry/common/config';
import {
  abandonMovePrep, claimResources, getInstance, listAllocations, openMigrationOf, releaseClaim, withActionEvent, type Instance,
} from '@ferry/common/db';
import { NoValidHost, REQUESTED_AZ_KEY, type RequestSpec, type Selection } from '@ferry/common/domain';
import type { Logger } from '@ferry/common/log';
import { exceptionPayload, novaObject, type Notifier } from '@ferry/common/notify';
import type { RequestContext } from '@ferry/common/rpc';
import type { DataSource } from 'typeorm';
import type { ComputeRpcApi } from '@ferry/compute';
import { loadHostStates } from './load-hosts';
import { placeInstance } from './placement';
import type { MigrateServerRequest } from './rpcapi';

/** The instance action event the scheduling of a move records (Nova's conductor records the same name). */
export const MIGRATE_SERVER_EVENT = 'conductor_migrate_server';

export interface MoveSchedulerDeps {
  ds: DataSource;
  config: Readonly<Pick<FerryConfig, 'schedulerMaxAttempts' | 'serviceDownSeconds'>>;
  log: Logger;
  compute: Pick<ComputeRpcApi, 'prepResize'>;
  /** compute_task.migrate_server.error when no host takes the move. */
  notifier?: Notifier;
}

/** Where the move may go: the new flavor, never the source, only the requested host if one was named, same zone as asked at create. */
export function moveRequestSpec(instance: Instance, req: MigrateServerRequest): RequestSpec {
  return {
    flavor: req.new_flavor,
    image_ref: instance.image_ref,
    project_id: instance.project_id,
    availability_zone: instance.system_metadata?.[REQUESTED_AZ_KEY] ?? null,
    ...(req.host ? { force_hosts: [req.host] } : {}),
    ignore_hosts: instance.host ? [instance.host] : [],
    num_attempts: 1,
  };
}

export async function migrateServer(deps: MoveSchedulerDeps, ctx: RequestContext, req: MigrateServerRequest): Promise<void> {
  const { ds, log } = deps;
  const uuid = req.instance_uuid;
  const instance = await getInstance(ds, uuid);
  if (!instance || instance.deleted_at || instance.task_state !== 'resize_prep' || !instance.host) {
    log.info({ instance_uuid: uuid, task_state: instance?.task_state }, 'instance no longer awaits a move destination; nothing to schedule');
    return;
  }
  if (await openMigrationOf(ds, uuid)) {
    log.info({ instance_uuid: uuid }, 'a destination already took this move; repeated request ignored');
    return;
  }
  const spec = moveRequestSpec(instance, req);
  let selection: Selection;
  try {
    selection = await withActionEvent(ds, ctx, uuid, MIGRATE_SERVER_EVENT, null, async () => {
      // A repeated request reuses the destination the first delivery claimed.
      const held = (await listAllocations(ds, { consumer_uuid: uuid })).find((a) => a.host !== instance.host)?.host;
      const hosts = await loadHostStates(ds, deps.config.serviceDownSeconds);
      return placeInstance(hosts, uuid, spec, { claim: (c) => claimResources(ds, c), maxAttempts: deps.config.schedulerMaxAttempts, heldHost: held });
    });
  } catch (err) {
    const e = err as Error;
    const reason = err instanceof NoValidHost ? e.message : `Cannot schedule the move: ${e.message}`;
    await abandonMovePrep(ds, uuid, { message: reason, code: 500, details: err instanceof NoValidHost ? null : (e.stack ?? null), host: null });
    log.warn({ instance_uuid: uuid, migration_type: req.migration_type, err: e.message }, 'no destination for the move; the instance stays where it is');
    await deps.notifier?.error('compute_task.migrate_server.error', () =>
      novaObject('ComputeTaskPayload', '1.0', { instance_uuid: uuid, reason: exceptionPayload(err), state: instance.vm_state }));
    return;
  }
  log.info({ instance_uuid: uuid, source: instance.host, dest: selection.host, alternates: selection.alternates, migration_type: req.migration_type }, 'move destination claimed');
  try {
    await deps.compute.prepResize(ctx, selection.host, {
      instance_uuid: uuid, migration_type: req.migration_type, new_flavor: req.new_flavor, request_spec: spec, alternates: selection.alternates,
    });
  } catch (err) {
    log.error({ instance_uuid: uuid, host: selection.host, err: (err as Error).message }, 'cannot cast prep_resize to the destination');
    await abandonMovePrep(ds, uuid, { message: `Cannot reach destination ${selection.host}: ${(err as Error).message}`, host: null });
    await releaseClaim(ds, uuid, selection.host);
  }
}
