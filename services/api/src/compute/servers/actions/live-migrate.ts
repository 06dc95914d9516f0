// os-migrateLive (admin): win task `migrating`, record the live migration (accepted) with the request, cast to the
// scheduler. From 2.34 every later check is asynchronous: a failure ends the record in error, the server stays as it was.
import { Type, type TSchema } from '@sinclair/typebox';
import { In, type DataSource } from 'typeorm';
import { advanceMigration, ComputeNode, createMigration, isOpenMoveConflict, type Instance, type Migration } from '@ferry/common/db';
import { BadRequest, Conflict, VM_STATES, type LiveMigrationRequestData } from '@ferry/common/domain';
import type { RequestContext } from '@ferry/common/rpc';
import { RESCUED_CAPABILITY } from '@ferry/compute/client';
import type { ApiContext } from '../../../http/api-context';
import { versionIn } from '../../../http/microversion';
import { requireAdmin } from '../../../http/policy';
import { parseLooseBool } from '../../common/request-params';
import { LooseBoolean } from '../schemas';
import { validateBody } from '../validate';
import { acceptTask, checkPreconditions } from './accept';
import { checkTargetHost, requireComputeUp, SAME_HOST_ERRORS } from './move-checks';
import { LIVE_MIGRATE_RULE } from './rules';
import type { ActionEnv, ServerAction } from './types';
import { crashPoint } from '@ferry/common/chaos';

/** Nova's parameter_types.fqdn, or null (the scheduler picks). */
const HostName = Type.Union([Type.String({ minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9-._]*$' }), Type.Null()]);
const BlockMigrationOrAuto = Type.Union([LooseBoolean, Type.Literal('auto')]);

function bodyOf(inner: Record<string, TSchema>): TSchema {
  return Type.Object({
    'os-migrateLive': Type.Object(inner, { additionalProperties: false }),
  }, { additionalProperties: false });
}

/** Nova's body schema per microversion range: disk_over_commit until 2.24, "auto" from 2.25, force only in 2.30–2.67. */
const BODIES: readonly { from: string; schema: TSchema }[] = [
  { from: '2.68', schema: bodyOf({ host: HostName, block_migration: BlockMigrationOrAuto }) },
  { from: '2.30', schema: bodyOf({ host: HostName, block_migration: BlockMigrationOrAuto, force: Type.Optional(LooseBoolean) }) },
  { from: '2.25', schema: bodyOf({ host: HostName, block_migration: BlockMigrationOrAuto }) },
  { from: '2.1', schema: bodyOf({ host: HostName, block_migration: LooseBoolean, disk_over_commit: LooseBoolean }) },
];

interface LiveRequest {
  host: string | null;
  block_migration: boolean | 'auto';
  force: boolean;
}

function readRequest(body: Record<string, unknown>): LiveRequest {
  const b = body['os-migrateLive'] as { host: string | null; block_migration: boolean | string; force?: boolean | string };
  return {
    host: b.host,
    block_migration: b.block_migration === 'auto' ? 'auto' : parseLooseBool(b.block_migration),
    force: b.force === undefined ? false : parseLooseBool(b.force),
  };
}

/** Ferry moves rescued instances live, but only between hosts that say they can; 400 naming the first that cannot. */
async function checkRescuedSupport(ds: DataSource, instance: Instance, dest: string | null): Promise<void> {
  if (instance.vm_state !== VM_STATES.RESCUED) return;
  const hosts = [instance.host!, ...(dest ? [dest] : [])];
  const nodes = await ds.getRepository(ComputeNode).findBy({ host: In(hosts) });
  const lacking = hosts.find((host) => !nodes.find((n) => n.host === host)?.capabilities?.[RESCUED_CAPABILITY]);
  if (lacking) throw new BadRequest(`Host ${lacking} does not support live migration of rescued instances.`);
}

/** The record of the accepted request; a second open move of the instance (the partial unique index) is a 409. */
async function recordLiveMigration(ds: DataSource, ctx: ApiContext, instance: Instance, req: LiveRequest, rpcCtx: RequestContext): Promise<Migration> {
  const data: LiveMigrationRequestData = {
    requested_host: req.host, block_migration: req.block_migration, force: req.force, old_vm_state: instance.vm_state, request_context: rpcCtx,
  };
  try {
    return await createMigration(ds, {
      instance_uuid: instance.uuid, migration_type: 'live-migration', status: 'accepted',
      source_compute: instance.host, source_node: instance.node, dest_compute: req.host,
      user_id: ctx.user_id, project_id: ctx.project_id, migrate_data: { ...data },
    }, 'api');
  } catch (err) {
    if (isOpenMoveConflict(err)) throw new Conflict(`Instance ${instance.uuid} is already being moved.`, { instance_id: instance.uuid });
    throw err;
  }
}

/** Everything Nova's API (and Ferry, for rescued instances) checks before it takes the task, in Nova's order. */
async function checkLiveMigratable(env: ActionEnv, instance: Instance, req: LiveRequest): Promise<void> {
  const ds = env.deps.db.dataSource;
  if (req.force && !req.host) throw new BadRequest("Can't force to a non-provided destination");
  checkPreconditions(env.req.ctx, instance, LIVE_MIGRATE_RULE);
  await requireComputeUp(ds, instance.host, env.deps.config.serviceDownSeconds);
  if (req.host) await checkTargetHost(ds, instance, req.host, SAME_HOST_ERRORS.live);
  await checkRescuedSupport(ds, instance, req.host);
}

const liveMigrate: ServerAction = {
  name: 'os-migrateLive',
  // The body's shape depends on the microversion: checked in run, before anything else.
  schema: Type.Object({ 'os-migrateLive': Type.Unknown() }, { additionalProperties: false }),
  async run(env, instance, body) {
    const ds = env.deps.db.dataSource;
    validateBody(env.req, BODIES.find((b) => versionIn(env.req.apiVersion, b.from))!.schema, body);
    const req = readRequest(body);
    requireAdmin(env.req.ctx, req.host ? 'os_compute_api:os-migrate-server:migrate_live:host' : 'os_compute_api:os-migrate-server:migrate_live');
    await checkLiveMigratable(env, instance, req);
    await acceptTask(ds, env.req.ctx, instance, LIVE_MIGRATE_RULE, async (rpcCtx) => {
      const migration = await recordLiveMigration(ds, env.req.ctx, instance, req, rpcCtx);
      crashPoint('api.live.after_record');
      try {
        await env.rpc.scheduler.liveMigrateServer(rpcCtx, migration.id);
      } catch (err) {
        await advanceMigration(ds, migration.id, ['accepted'], 'error', 'api', { last_error: `not sent to the scheduler: ${(err as Error).message}` });
        throw err;
      }
    });
    return { status: 202 };
  },
};

export const LIVE_MIGRATE_ACTIONS: readonly ServerAction[] = [liveMigrate];
