// resize (owner or admin) and migrate (admin): accept a cold move in task resize_prep and hand it to the scheduler.
import { Type, type Static } from '@sinclair/typebox';
import type { Instance, InstanceFlavor } from '@ferry/common/db';
import { BadRequest, MOVE_REQUESTED_HOST_KEY } from '@ferry/common/domain';
import type { MigrateServerRequest } from '@ferry/scheduler/client';
import { versionIn } from '../../../http/microversion';
import { requireAdmin } from '../../../http/policy';
import { flavorCopy, idFromHref, resolveFlavor } from '../create-inputs';
import { validateBody } from '../validate';
import { acceptTask, checkPreconditions } from './accept';
import { checkDiskResize, checkTargetHost, checkUpsizeQuota, requireComputeUp } from './move-checks';
import { MOVE_RULES, type TaskRule } from './rules';
import { bareAction } from './schemas';
import type { ActionEnv, ServerAction } from './types';

const ResizeBody = Type.Object({
  resize: Type.Object({
    flavorRef: Type.Union([Type.String({ minLength: 1 }), Type.Integer()]),
    // Accepted as Nova does; Ferry's disks are always resized to the flavor, so it changes nothing.
    'OS-DCF:diskConfig': Type.Optional(Type.Union([Type.Literal('AUTO'), Type.Literal('MANUAL')])),
  }, { additionalProperties: false }),
}, { additionalProperties: false });

/** Nova's parameter_types.fqdn, or null. */
const HostName = Type.Union([Type.String({ minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9-._]*$' }), Type.Null()]);

/** From 2.56: {"migrate": null} or {"migrate": {"host": …}}. Before, Nova validates nothing and reads no host. */
const MigrateBody = Type.Object({
  migrate: Type.Union([Type.Null(), Type.Object({ host: Type.Optional(HostName) }, { additionalProperties: false })]),
}, { additionalProperties: false });

/** The host a migrate asks for: read (and the body validated) only from 2.56, as Nova does. */
function requestedHost(env: ActionEnv, body: Record<string, unknown>): string | undefined {
  if (!versionIn(env.req.apiVersion, '2.56')) return undefined;
  return validateBody<Static<typeof MigrateBody>>(env.req, MigrateBody, body).migrate?.host ?? undefined;
}

interface ColdMove {
  rule: TaskRule;
  migrationType: MigrateServerRequest['migration_type'];
  newFlavor: InstanceFlavor;
  host?: string;
}

/** Checks every cold move shares, in Nova's order: lock, states, host set, then the source compute service up. */
async function checkMovable(env: ActionEnv, instance: Instance, rule: TaskRule): Promise<void> {
  checkPreconditions(env.req.ctx, instance, rule);
  await requireComputeUp(env.deps.db.dataSource, instance.host, env.deps.config.serviceDownSeconds);
}

/** Wins resize_prep with both flavors recorded, opens the action, casts migrate_server; a refused cast puts all back. */
async function acceptColdMove(env: ActionEnv, instance: Instance, move: ColdMove): Promise<void> {
  const request: MigrateServerRequest = {
    instance_uuid: instance.uuid, migration_type: move.migrationType, new_flavor: move.newFlavor, ...(move.host ? { host: move.host } : {}),
  };
  await acceptTask(
    env.deps.db.dataSource, env.req.ctx, instance, move.rule, (ctx) => env.rpc.scheduler.migrateServer(ctx, request),
    {
      set: { old_flavor: instance.flavor, new_flavor: move.newFlavor, progress: 0 }, undo: { old_flavor: null, new_flavor: null },
      // Kept with the task for the reconciler, which hands a lost request to the scheduler again.
      remember: { [MOVE_REQUESTED_HOST_KEY]: move.host ?? null },
    },
  );
}

const resize: ServerAction = {
  name: 'resize',
  schema: ResizeBody,
  async run(env, instance, body) {
    const rule = MOVE_RULES.resize;
    await checkMovable(env, instance, rule);
    const ds = env.deps.db.dataSource;
    const flavorRef = (body.resize as { flavorRef: string | number }).flavorRef;
    // Before the lookup, as Nova's same-flavor test comes before its refusal of a disabled flavor.
    if (idFromHref(flavorRef) === instance.flavor.flavorid) throw new BadRequest('When resizing, instances must change flavor!');
    const newFlavor = flavorCopy(await resolveFlavor(ds, env.req.ctx, flavorRef));
    checkDiskResize(instance.uuid, instance.flavor, newFlavor);
    await checkUpsizeQuota(ds, instance.project_id, instance.flavor, newFlavor);
    await acceptColdMove(env, instance, { rule, migrationType: 'resize', newFlavor });
    return { status: 202 };
  },
};

const migrate: ServerAction = {
  name: 'migrate',
  schema: bareAction('migrate'),
  async run(env, instance, body) {
    const host = requestedHost(env, body);
    requireAdmin(env.req.ctx, host ? 'os_compute_api:os-migrate-server:migrate:host' : 'os_compute_api:os-migrate-server:migrate');
    const rule = MOVE_RULES.migrate;
    await checkMovable(env, instance, rule);
    if (host) await checkTargetHost(env.deps.db.dataSource, instance, host);
    await acceptColdMove(env, instance, { rule, migrationType: 'migration', newFlavor: instance.flavor, ...(host ? { host } : {}) });
    return { status: 202 };
  },
};

export const MOVE_ACTIONS: readonly ServerAction[] = [resize, migrate];
