// confirmResize (204) and revertResize (202), owner or admin: end a cold move waiting in VERIFY_RESIZE.
// The migration record is claimed by CAS (finished → confirming | reverting), so of two racing requests one wins.
// Neither step can be taken back (the state tables have no way back to finished), so once it is won the request
// stands: a cast the bus refuses is logged, and the compute's recovery of its unfinished moves picks it up.
import type { FastifyRequest } from 'fastify';
import type { DataSource } from 'typeorm';
import { advanceInstanceTask, advanceMigration, Migration, startAction, type Instance } from '@ferry/common/db';
import { InstanceInvalidState, RESIZE_AWAITING_CONFIRM_STATUS } from '@ferry/common/domain';
import { rpcContext } from '../rpc';
import { checkPreconditions, lostRace } from './accept';
import { checkUpsizeQuota, migrationAwaitingConfirm, requireComputeUp } from './move-checks';
import { CONFIRM_RESIZE_RULE, MOVE_RULES } from './rules';
import { bareAction } from './schemas';
import type { ServerAction } from './types';
import { crashPoint } from '@ferry/common/chaos';

/** The 409 for a request whose migration CAS lost to another confirm or revert. */
async function migrationTaken(ds: DataSource, instance: Instance, migration: Migration, action: string): Promise<InstanceInvalidState> {
  const now = (await ds.getRepository(Migration).findOne({ where: { id: migration.id } }))?.status ?? 'deleted';
  return new InstanceInvalidState(
    `Cannot '${action}' instance ${instance.uuid} while its migration ${migration.id} is in status ${now}`,
    { instance_id: instance.uuid, action, migration_id: migration.id, status: now },
  );
}

/** Casts the nudge for a request already recorded in the database; a failure is logged, not undone. */
async function nudge(req: FastifyRequest, what: string, migration: Migration, cast: () => Promise<void>): Promise<void> {
  try {
    await cast();
  } catch (err) {
    req.log.warn({ err, migration_id: migration.id, instance_uuid: migration.instance_uuid }, `${what} is recorded but its cast failed; recovery will resume it`);
  }
}

const confirmResize: ServerAction = {
  name: 'confirmResize',
  schema: bareAction('confirmResize'),
  async run(env, instance) {
    const ds = env.deps.db.dataSource;
    const ctx = env.req.ctx;
    checkPreconditions(ctx, instance, CONFIRM_RESIZE_RULE);
    const migration = await migrationAwaitingConfirm(ds, instance.uuid);
    // Before the record changes: once it is confirming, a retry could no longer find it.
    await requireComputeUp(ds, migration.source_compute, env.deps.config.serviceDownSeconds);
    if (!(await advanceMigration(ds, migration.id, [RESIZE_AWAITING_CONFIRM_STATUS], 'confirming', 'api'))) {
      throw await migrationTaken(ds, instance, migration, CONFIRM_RESIZE_RULE.action);
    }
    await startAction(ds, ctx, instance.uuid, CONFIRM_RESIZE_RULE.instanceAction);
    crashPoint('api.confirm.before_cast');
    await nudge(env.req, 'confirmResize', migration, () => env.rpc.compute.confirmResize(rpcContext(ctx), migration.source_compute!, migration.id));
    return { status: 204 };
  },
};

const revertResize: ServerAction = {
  name: 'revertResize',
  schema: bareAction('revertResize'),
  async run(env, instance) {
    const ds = env.deps.db.dataSource;
    const ctx = env.req.ctx;
    const rule = MOVE_RULES.revertResize;
    checkPreconditions(ctx, instance, rule);
    const migration = await migrationAwaitingConfirm(ds, instance.uuid);
    // Reverting a resize down grows the server back.
    await checkUpsizeQuota(ds, instance.project_id, instance.flavor, instance.old_flavor ?? instance.flavor);
    // The instance first: its CAS can be undone, the migration's cannot.
    if (!(await advanceInstanceTask(ds, instance.uuid, rule.fromTasks, rule.to))) throw await lostRace(ds, instance.uuid, rule.action);
    if (!(await advanceMigration(ds, migration.id, [RESIZE_AWAITING_CONFIRM_STATUS], 'reverting', 'api'))) {
      await advanceInstanceTask(ds, instance.uuid, [rule.to], instance.task_state);
      throw await migrationTaken(ds, instance, migration, rule.action);
    }
    await startAction(ds, ctx, instance.uuid, rule.instanceAction);
    const dest = migration.dest_compute ?? instance.host!;
    crashPoint('api.revert.before_cast');
    await nudge(env.req, 'revertResize', migration, () => env.rpc.compute.revertResize(rpcContext(ctx), dest, migration.id));
    return { status: 202 };
  },
};

export const RESIZE_END_ACTIONS: readonly ServerAction[] = [confirmResize, revertResize];
