// evacuate (admin): rebuild a server whose host is down on another host. The API records the evacuation (accepted)
// with the request, takes task `rebuilding` and casts evacuate_server to the scheduler. Nova's body and answer per
// microversion: onSharedStorage until 2.13 (adminPass answered), force only in 2.29–2.67, no body from 2.14.
import { Type, type TSchema } from '@sinclair/typebox';
import type { DataSource } from 'typeorm';
import { advanceMigration, createMigrationWhileDown, isOpenMoveConflict, type Instance, type Migration } from '@ferry/common/db';
import { BadRequest, Conflict, NotFound, type EvacuationRequestData } from '@ferry/common/domain';
import type { RequestContext } from '@ferry/common/rpc';
import type { SchedulerRpcApi } from '@ferry/scheduler/client';
import { crashPoint } from '@ferry/common/chaos';
import { COMPUTE_BINARY } from '@ferry/compute/client';
import type { ApiContext } from '../../../http/api-context';
import { versionIn } from '../../../http/microversion';
import { requireAdmin } from '../../../http/policy';
import { parseLooseBool } from '../../common/request-params';
import { computeServiceStates } from '../host-status';
import { LooseBoolean } from '../schemas';
import { validateBody } from '../validate';
import { acceptTask, checkPreconditions } from './accept';
import { generatePassword } from './admin-password';
import { EVACUATE_RULE } from './rules';
import type { ActionEnv, ServerAction } from './types';

export const EVACUATE_POLICY = 'os_compute_api:os-evacuate';

/** Nova's parameter_types.fqdn. */
const HostName = Type.String({ minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9-._]*$' });
const AdminPass = Type.String();

function bodyOf(inner: Record<string, TSchema>): TSchema {
  return Type.Object({ evacuate: Type.Object(inner, { additionalProperties: false }) }, { additionalProperties: false });
}

/** Nova's schema per microversion range (evacuate, evacuate_v214, evacuate_v2_29, evacuate_v2_68). */
const BODIES: readonly { from: string; schema: TSchema }[] = [
  { from: '2.68', schema: bodyOf({ host: Type.Optional(HostName), adminPass: Type.Optional(AdminPass) }) },
  { from: '2.29', schema: bodyOf({ host: Type.Optional(HostName), adminPass: Type.Optional(AdminPass), force: Type.Optional(LooseBoolean) }) },
  { from: '2.14', schema: bodyOf({ host: Type.Optional(HostName), adminPass: Type.Optional(AdminPass) }) },
  { from: '2.1', schema: bodyOf({ host: Type.Optional(HostName), adminPass: Type.Optional(AdminPass), onSharedStorage: LooseBoolean }) },
];

export interface EvacuateRequest {
  host: string | null;
  force: boolean;
  /** Set by a whole-host evacuation: its id and how many of its evacuations may run at once. */
  batch?: { id: string; concurrency: number };
  /** What the answer carries before 2.14 (null: nothing, on shared storage). */
  adminPass: string | null;
}

type EvacuateBody = { host?: string; adminPass?: string; force?: boolean | string; onSharedStorage?: boolean | string };

/** The request as Nova reads it, with its 400s for force without a host and a password on a disk that is kept. */
function readRequest(env: ActionEnv, body: Record<string, unknown>): EvacuateRequest {
  const b = body.evacuate as EvacuateBody;
  const host = b.host ?? null;
  const force = b.force === undefined ? false : parseLooseBool(b.force);
  if (force && !host) throw new BadRequest("Can't force to a non-provided destination");
  if (versionIn(env.req.apiVersion, '2.14')) return { host, force, adminPass: b.adminPass ?? generatePassword() };
  const shared = parseLooseBool(b.onSharedStorage!);
  if (shared && b.adminPass !== undefined) throw new BadRequest("admin password can't be changed on existing disk");
  return { host, force, adminPass: b.adminPass ?? (shared ? null : generatePassword()) };
}

/** Nova's 404 for a named host that runs no compute service. */
async function checkHostKnown(ds: DataSource, host: string): Promise<void> {
  const known: unknown[] = await ds.query(`SELECT 1 FROM services WHERE host = $1 AND "binary" = $2 LIMIT 1`, [host, COMPUTE_BINARY]);
  if (known.length === 0) throw new NotFound(`Compute host ${host} not found.`);
}

/** A host is evacuable only when its compute service is down (heartbeat past the down time, or forced down). */
export async function requireHostDown(ds: DataSource, host: string, downSeconds: number): Promise<void> {
  const state = (await computeServiceStates(ds, [host], downSeconds)).get(host);
  if (state?.up) throw hostInUse(host);
}

/** Everything Nova checks before it accepts an evacuation, in Nova's order. */
async function checkEvacuable(env: ActionEnv, instance: Instance, req: EvacuateRequest): Promise<void> {
  const ds = env.deps.db.dataSource;
  // The destination rebuilds through rebuild_instance: refused before anything changes while the compute cap predates it.
  env.rpc.compute.checkSendable('rebuild_instance');
  if (req.host) await checkHostKnown(ds, req.host);
  if (req.host !== null && req.host === instance.host) throw new BadRequest("The target host can't be the same one.");
  checkPreconditions(env.req.ctx, instance, EVACUATE_RULE);
  await requireHostDown(ds, instance.host!, env.deps.config.serviceDownSeconds);
}

/**
 * The record of the accepted request, written only while the source's compute service is still down (checked again
 * under its services row: a compute that came back since requireHostDown's read makes this a 400 and writes nothing);
 * a second open move of the instance (the partial unique index) is a 409.
 */
async function recordEvacuation(
  ds: DataSource, ctx: ApiContext, instance: Instance, req: EvacuateRequest, rpcCtx: RequestContext, downSeconds: number,
): Promise<Migration> {
  const data: EvacuationRequestData = {
    requested_host: req.host, force: req.force, old_vm_state: instance.vm_state, request_context: rpcCtx, ...(req.batch ? { batch: req.batch } : {}),
  };
  let recorded: Migration | null;
  try {
    recorded = await createMigrationWhileDown(ds, {
      instance_uuid: instance.uuid, migration_type: 'evacuation', status: 'accepted',
      source_compute: instance.host, source_node: instance.node, dest_compute: req.host,
      old_instance_type_id: instance.flavor.id, new_instance_type_id: instance.flavor.id,
      user_id: ctx.user_id, project_id: ctx.project_id, migrate_data: { ...data },
    }, 'api', { host: instance.host!, binary: COMPUTE_BINARY, downSeconds });
  } catch (err) {
    if (isOpenMoveConflict(err)) throw new Conflict(`Instance ${instance.uuid} is already being moved.`, { instance_id: instance.uuid });
    throw err;
  }
  if (!recorded) throw hostInUse(instance.host!);
  return recorded;
}

/** Nova's answer for an evacuation off a host whose compute service is up. */
function hostInUse(host: string): BadRequest {
  return new BadRequest(`Compute service of ${host} is still in use.`);
}

/** Takes task rebuilding, records the evacuation, casts evacuate_server; a refused cast puts everything back. */
export async function acceptEvacuation(
  ds: DataSource, ctx: ApiContext, scheduler: SchedulerRpcApi, instance: Instance, req: EvacuateRequest, downSeconds: number,
): Promise<Migration> {
  let migration: Migration | undefined;
  await acceptTask(ds, ctx, instance, EVACUATE_RULE, async (rpcCtx) => {
    migration = await recordEvacuation(ds, ctx, instance, req, rpcCtx, downSeconds);
    crashPoint('api.evacuate.after_record');
    try {
      await scheduler.evacuateServer(rpcCtx, migration.id);
    } catch (err) {
      await advanceMigration(ds, migration.id, ['accepted'], 'error', 'api', { last_error: `not sent to the scheduler: ${(err as Error).message}` });
      throw err;
    }
  });
  return migration!;
}

const evacuate: ServerAction = {
  name: 'evacuate',
  // The body's shape depends on the microversion: checked in run, before anything else.
  schema: Type.Object({ evacuate: Type.Unknown() }, { additionalProperties: false }),
  async run(env, instance, body) {
    const ds = env.deps.db.dataSource;
    validateBody(env.req, BODIES.find((b) => versionIn(env.req.apiVersion, b.from))!.schema, body);
    requireAdmin(env.req.ctx, EVACUATE_POLICY);
    const req = readRequest(env, body);
    await checkEvacuable(env, instance, req);
    await acceptEvacuation(ds, env.req.ctx, env.rpc.scheduler, instance, req, env.deps.config.serviceDownSeconds);
    // Nova answers 200 (not 202), with the password only before 2.14.
    if (versionIn(env.req.apiVersion, '2.14') || req.adminPass === null) return { status: 200 };
    return { status: 200, body: { adminPass: req.adminPass } };
  },
};

export const EVACUATE_ACTIONS: readonly ServerAction[] = [evacuate];
