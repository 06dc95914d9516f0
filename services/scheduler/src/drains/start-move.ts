// Starting one move of a drain the way the API accepts os-migrateLive and migrate: win the instance's task by CAS
// (so a move never starts twice, nor over another task), open its instance action, record the request, then hand it
// to the scheduler's own live_migrate_server / migrate_server, which place and run it as they do any other.
import {
  advanceMigration, createMigration, failAction, getInstance, isOpenMoveConflict, recordDrainRefusal, startAction,
  type HostDrain, type Instance,
} from '@ferry/common/db';
import { advanceInstanceTaskAsScheduler } from '@ferry/common/scheduling';
import { drainDecision, MOVE_REQUESTED_HOST_KEY, TASK_STATES, type LiveMigrationRequestData } from '@ferry/common/domain';
import type { Logger } from '@ferry/common/log';
import { newRequestContext, type RequestContext } from '@ferry/common/rpc';
import type { DataSource } from 'typeorm';
import type { SchedulerManager } from '../manager';

export interface DrainMoveDeps {
  ds: DataSource;
  log: Logger;
  manager: Pick<SchedulerManager, 'live_migrate_server' | 'migrate_server'>;
}

/** Starts the move of one instance of the drain, or records why it cannot; an instance busy with another task waits. */
export async function startDrainMove(deps: DrainMoveDeps, drain: HostDrain, uuid: string): Promise<void> {
  const { ds, log } = deps;
  const instance = await getInstance(ds, uuid);
  if (!instance || instance.deleted_at || instance.host !== drain.host) return;
  if (instance.task_state !== null) {
    log.info({ drain_id: drain.id, instance_uuid: uuid, task_state: instance.task_state }, 'instance busy with another task; the drain tries it again later');
    return;
  }
  const decision = drainDecision(drain.mode, instance.vm_state);
  if ('skip' in decision) {
    await recordDrainRefusal(ds, drain.id, uuid, decision.skip);
    return;
  }
  // One request id per move, so each instance's action lists only its own events.
  const ctx = newRequestContext({ ...drain.request_context, request_id: undefined });
  if (decision.move === 'live') await startLive(deps, drain, instance, ctx);
  else await startCold(deps, instance, ctx);
}

async function startLive(deps: DrainMoveDeps, drain: HostDrain, instance: Instance, ctx: RequestContext): Promise<void> {
  const { ds } = deps;
  if (!(await advanceInstanceTaskAsScheduler(ds, instance.uuid, [null], TASK_STATES.MIGRATING))) return;
  let migrationId: number;
  try {
    await startAction(ds, ctx, instance.uuid, 'live-migration');
    const data: LiveMigrationRequestData = {
      requested_host: null, block_migration: 'auto', force: false, old_vm_state: instance.vm_state, request_context: ctx,
    };
    const m = await createMigration(ds, {
      instance_uuid: instance.uuid, migration_type: 'live-migration', status: 'accepted', source_compute: instance.host, source_node: instance.node,
      dest_compute: null, user_id: ctx.user_id ?? null, project_id: ctx.project_id ?? null, migrate_data: { ...data, drain_id: drain.id },
    }, 'scheduler');
    migrationId = m.id;
  } catch (err) {
    await advanceInstanceTaskAsScheduler(ds, instance.uuid, [TASK_STATES.MIGRATING], null);
    await failAction(ds, ctx, instance.uuid).catch(() => undefined);
    if (isOpenMoveConflict(err)) return;
    throw err;
  }
  try {
    await deps.manager.live_migrate_server(ctx, { migration_id: migrationId });
  } catch (err) {
    // As the API does when its cast fails: the record ends in error and the instance keeps running where it is.
    await advanceMigration(ds, migrationId, ['accepted'], 'error', 'scheduler', { last_error: `not placed: ${(err as Error).message}`.slice(0, 2000) });
    await advanceInstanceTaskAsScheduler(ds, instance.uuid, [TASK_STATES.MIGRATING], null);
    throw err;
  }
}

async function startCold(deps: DrainMoveDeps, instance: Instance, ctx: RequestContext): Promise<void> {
  const { ds } = deps;
  const won = await advanceInstanceTaskAsScheduler(
    ds, instance.uuid, [null], TASK_STATES.RESIZE_PREP, { old_flavor: instance.flavor, new_flavor: instance.flavor, progress: 0 },
    { [MOVE_REQUESTED_HOST_KEY]: null },
  );
  if (!won) return;
  try {
    await startAction(ds, ctx, instance.uuid, 'migrate');
  } catch (err) {
    await advanceInstanceTaskAsScheduler(ds, instance.uuid, [TASK_STATES.RESIZE_PREP], null, { old_flavor: null, new_flavor: null });
    throw err;
  }
  // migrate_server ends a move it cannot place itself (task back, fault recorded); a lost one is the reconciler's.
  await deps.manager.migrate_server(ctx, { instance_uuid: instance.uuid, migration_type: 'migration', new_flavor: instance.flavor });
}
