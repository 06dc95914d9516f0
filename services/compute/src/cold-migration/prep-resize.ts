// prep_resize on the destination: make room for the disk, create the migration record (pre-migrating), proxy to the source.
// If this host cannot take the instance, its claim is freed and the move goes to an alternate, or is given up.
import {
  abandonMovePrep, createMigration, getInstanceAndOpenMove, isOpenMoveConflict, releaseClaim, runActionEvent, type EventedResult,
  type Instance,
} from '@ferry/common/db';
import { notifyMoveNotPlaced, resizePrepPayload } from '@ferry/common/notify';
import type { RequestContext } from '@ferry/common/rpc';
import { claimNextAttempt, nextAttemptSpec } from '@ferry/common/scheduling';
import type { ComputeContext } from '../compute-context';
import type { PrepResizeRequest } from '../client/rpcapi';
import { instanceNotification } from '../notifications';
import type { ColdMoveData } from './move-record';
import { crashPoint } from '@ferry/common/chaos';

export const PREP_RESIZE_EVENT = 'compute_prep_resize';

export async function prepResize(c: ComputeContext, ctx: RequestContext, req: PrepResizeRequest): Promise<void> {
  const uuid = req.instance_uuid;
  const found = await getInstanceAndOpenMove(c.ds, uuid);
  const instance = found?.instance;
  const open = found?.openMove;
  if (open) {
    // A repeated message: the record exists. Nudge the source again in case the first cast was lost; its CAS decides.
    if (open.dest_compute === c.host && open.status === 'pre-migrating' && open.source_compute) {
      await c.computeRpc.resizeInstance(ctx, open.source_compute, open.id);
    }
    c.log.info({ instance_uuid: uuid, migration_id: open.id, status: open.status }, 'move already prepared; prep_resize ignored');
    return;
  }
  if (!instance || instance.deleted_at || instance.task_state !== 'resize_prep' || !instance.host) {
    // Deleted, or the move was given up meanwhile: the claim made here for it is nobody's.
    if (!instance || instance.deleted_at || instance.host !== c.host) await releaseClaim(c.ds, uuid, c.host);
    c.log.info({ instance_uuid: uuid, task_state: instance?.task_state }, 'instance no longer awaits this move; prep_resize ignored');
    return;
  }
  let prepared: EventedResult<string>;
  try {
    prepared = await runActionEvent(c.ds, ctx, uuid, PREP_RESIZE_EVENT, c.host, () =>
      instanceNotification(c, 'instance.resize_prep', instance, () => c.driver.prepareIncoming(uuid), () => resizePrepPayload(instance, req.new_flavor)));
  } catch (err) {
    await rescheduleOrGiveUp(c, ctx, instance, req, err as Error);
    return;
  }
  // The record is written, and the source told, while the event's closing write lands.
  try {
    await recordAndHandOver(c, ctx, instance, instance.host, req, prepared.result);
  } finally {
    await prepared.closed;
  }
}

/** Creates the record (pre-migrating) naming this host and the disk path it prepared, then casts to the source. */
async function recordAndHandOver(
  c: ComputeContext, ctx: RequestContext, instance: Instance, source: string, req: PrepResizeRequest, destDiskPath: string,
): Promise<void> {
  const uuid = instance.uuid;
  const data: ColdMoveData = { old_vm_state: instance.vm_state, dest_disk_path: destDiskPath, request_context: ctx };
  let migrationId: number;
  try {
    const m = await createMigration(c.ds, {
      instance_uuid: uuid, migration_type: req.migration_type, status: 'pre-migrating',
      source_compute: source, source_node: instance.node, dest_compute: c.host, dest_node: c.node, dest_host: c.host,
      old_instance_type_id: instance.flavor.id, new_instance_type_id: req.new_flavor.id,
      user_id: ctx.user_id ?? instance.user_id, project_id: ctx.project_id ?? instance.project_id,
      migrate_data: data as unknown as Record<string, unknown>,
    }, 'dest');
    migrationId = m.id;
  } catch (err) {
    if (!isOpenMoveConflict(err)) throw err;
    c.log.info({ instance_uuid: uuid }, 'another delivery created the record first; prep_resize ignored');
    return;
  }
  c.log.info({ instance_uuid: uuid, migration_id: migrationId, source, dest: c.host, migration_type: req.migration_type }, 'move prepared; handing over to the source');
  crashPoint('cold.dest.after_record', c.host);
  try {
    await c.computeRpc.resizeInstance(ctx, source, migrationId);
  } catch (err) {
    // The record is the work queue: recovery on this host nudges the source again.
    c.log.error({ migration_id: migrationId, source, err: (err as Error).message }, 'cannot cast resize_instance to the source; recovery will retry');
  }
}

/** This host cannot take the move: free its claim and leftovers, then try the next alternate while attempts remain. */
async function rescheduleOrGiveUp(c: ComputeContext, ctx: RequestContext, instance: Instance, req: PrepResizeRequest, err: Error): Promise<void> {
  const uuid = instance.uuid;
  c.log.warn({ instance_uuid: uuid, err: err.message }, 'cannot prepare this host for the move');
  await c.driver.destroy(uuid).catch((e: unknown) => c.log.error({ instance_uuid: uuid, err: (e as Error).message }, 'cannot remove what the failed prep left'));
  await releaseClaim(c.ds, uuid, c.host);
  const attempts = req.request_spec.num_attempts ?? 1;
  const next = await claimNextAttempt(c.ds, {
    consumer_uuid: uuid, flavor: req.new_flavor, alternates: req.alternates, exclude: [c.host, instance.host], attempt: attempts,
    maxAttempts: c.config.schedulerMaxAttempts, serviceDownSeconds: c.config.serviceDownSeconds,
  });
  if ('host' in next) {
    try {
      await c.computeRpc.prepResize(ctx, next.host, { ...req, request_spec: nextAttemptSpec(req.request_spec, next.attempt, c.host), alternates: next.remaining });
      c.log.info({ instance_uuid: uuid, host: next.host, attempt: next.attempt }, 'move rescheduled to an alternate host');
      return;
    } catch (castErr) {
      await releaseClaim(c.ds, uuid, next.host);
      c.log.error({ instance_uuid: uuid, host: next.host, err: (castErr as Error).message }, 'cannot cast prep_resize to the alternate host');
    }
  }
  const message = `Move failed: ${err.message}`;
  if (await abandonMovePrep(c.ds, uuid, { message, details: err.stack ?? null, host: c.host })) {
    c.log.warn({ instance_uuid: uuid, attempts }, 'no host could take the move; the instance stays on its source');
    await notifyMoveNotPlaced(c.notifier, instance, err);
  }
}
