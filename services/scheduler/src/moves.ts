// migrate_server: claim a destination for a cold move (migration or resize) and hand the move to it.
import { abandonMovePrep, getInstanceAndOpenMove, releaseClaim, type EventedResult } from '@ferry/common/db';
import type { Selection } from '@ferry/common/domain';
import type { RequestContext } from '@ferry/common/rpc';
import type { ComputeRpcApi } from '@ferry/compute/client';
import { claimMoveDestination, moveRequestSpec, noDestinationFault, reportNoDestination, type MoveDestinationDeps } from './move-destination';
import type { MigrateServerRequest } from './client/rpcapi';
import { crashPoint } from '@ferry/common/chaos';

/** The instance action event the scheduling of a move records (Nova's conductor records the same name). */
export const MIGRATE_SERVER_EVENT = 'conductor_migrate_server';

export interface MoveSchedulerDeps extends MoveDestinationDeps {
  compute: Pick<ComputeRpcApi, 'prepResize'>;
}

export async function migrateServer(deps: MoveSchedulerDeps, ctx: RequestContext, req: MigrateServerRequest): Promise<void> {
  const { ds, log } = deps;
  const uuid = req.instance_uuid;
  const found = await getInstanceAndOpenMove(ds, uuid);
  const instance = found?.instance;
  if (!instance || instance.deleted_at || instance.task_state !== 'resize_prep' || !instance.host) {
    log.info({ instance_uuid: uuid, task_state: instance?.task_state }, 'instance no longer awaits a move destination; nothing to schedule');
    return;
  }
  if (found.openMove) {
    log.info({ instance_uuid: uuid }, 'a destination already took this move; repeated request ignored');
    return;
  }
  const spec = moveRequestSpec(instance, req.new_flavor, req.host);
  let claimed: EventedResult<Selection>;
  try {
    claimed = await claimMoveDestination(deps, ctx, instance, spec, MIGRATE_SERVER_EVENT);
  } catch (err) {
    await abandonMovePrep(ds, uuid, { ...noDestinationFault(err), code: 500, host: null });
    await reportNoDestination(deps, instance, err, { migration_type: req.migration_type });
    return;
  }
  const selection = claimed.result;
  log.info({ instance_uuid: uuid, source: instance.host, dest: selection.host, alternates: selection.alternates, migration_type: req.migration_type }, 'move destination claimed');
  crashPoint('scheduler.move.after_claim');
  try {
    await deps.compute.prepResize(ctx, selection.host, {
      instance_uuid: uuid, migration_type: req.migration_type, new_flavor: req.new_flavor, request_spec: spec, alternates: selection.alternates,
    });
  } catch (err) {
    log.error({ instance_uuid: uuid, host: selection.host, err: (err as Error).message }, 'cannot cast prep_resize to the destination');
    await abandonMovePrep(ds, uuid, { message: `Cannot reach destination ${selection.host}: ${(err as Error).message}`, host: null });
    await releaseClaim(ds, uuid, selection.host);
  }
  await claimed.closed;
}
