// /servers/{id}/migrations: a server's live migrations in progress (2.23+), force-complete (2.22+) and abort (2.24+).
// Admin only. The source compute owns the running job; these routes change the record where Nova's API does and nudge it.
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { In, IsNull, type DataSource } from 'typeorm';
import { advanceMigration, Migration, requestLiveSteer, startAction, type Instance } from '@ferry/common/db';
import {
  ABORTABLE_LIVE_STATUSES, ABORTABLE_LIVE_STATUSES_BEFORE_2_65, BadRequest, FORCE_COMPLETABLE_LIVE_STATUSES, IN_PROGRESS_LIVE_STATUSES, NotFound,
  type MigrationStatus,
} from '@ferry/common/domain';
import type { RoutesPlugin } from '../../api-deps';
import { versionIn } from '../../http/microversion';
import { requireAdmin } from '../../http/policy';
import { checkPreconditions, markActionFailed } from '../servers/actions/accept';
import { LIVE_MIGRATION_STEER_RULES, type StateRule } from '../servers/actions/rules';
import { findVisibleInstance } from '../servers/lookup';
import { rpcContext, serverRpc } from '../servers/rpc';
import { validateBody } from '../servers/validate';
import { serverMigrationView } from './views';
import { crashPoint } from '@ferry/common/chaos';

type Req = FastifyRequest<{ Params: { server_id: string; migration_id?: string } }>;

const POLICY = 'os_compute_api:servers:migrations';
const LIVE = 'live-migration';

const ForceCompleteBody = Type.Object({ force_complete: Type.Null() }, { additionalProperties: false });

function since(req: Req, version: string): void {
  if (!versionIn(req.apiVersion, version)) throw new NotFound('The resource could not be found.');
}

function isIn(statuses: readonly MigrationStatus[], m: Migration): boolean {
  return (statuses as readonly string[]).includes(m.status);
}

/** The server's migration `mid`, of any type (Nova's Migration.get_by_id_and_instance), or null. */
async function migrationOf(ds: DataSource, instance: Instance, mid: string): Promise<Migration | null> {
  if (!/^\d{1,9}$/.test(mid)) return null;
  return ds.getRepository(Migration).findOne({ where: { id: Number(mid), instance_uuid: instance.uuid, deleted_at: IsNull() } });
}

/** Nova's MigrationNotFoundForInstance text (a 404 for abort, a 400 for force_complete, as Nova answers). */
function notFoundForInstance(mid: string, uuid: string): string {
  return `Migration ${mid} not found for instance ${uuid}`;
}

/** Nova's InvalidMigrationState: 400. */
function stateError(m: Migration, uuid: string, method: string): BadRequest {
  return new BadRequest(`Migration ${m.id} state of instance ${uuid} is ${m.status}. Cannot ${method} while the migration is in this state.`);
}

export const serverMigrationRoutes: RoutesPlugin = async (app, { deps }) => {
  const rpc = serverRpc(deps);
  const ds = deps.db.dataSource;

  /** The server, after Nova's checks in its order: visible (404), policy (403); with a rule, the instance's state (409). */
  async function authorized(req: Req, policy: string, rule?: StateRule): Promise<Instance> {
    const instance = await findVisibleInstance(ds, req.ctx, req.params.server_id);
    requireAdmin(req.ctx, `${POLICY}:${policy}`);
    if (rule) checkPreconditions(req.ctx, instance, rule);
    return instance;
  }

  /**
   * Opens the instance action, then casts to the source. A cast the bus refuses marks the action failed and fails the
   * request (503), unless `recorded`: the record already says what was asked, so the cast was only a nudge.
   */
  async function recordAndCast(req: Req, instance: Instance, rule: StateRule, cast: () => Promise<void>, recorded = false): Promise<void> {
    await startAction(ds, req.ctx, instance.uuid, rule.instanceAction);
    crashPoint('api.migration_action.before_cast');
    try {
      await cast();
    } catch (err) {
      if (recorded) {
        req.log.warn({ err, instance_uuid: instance.uuid }, `${rule.action} is recorded but its cast failed; the source finds it when it gets there`);
        return;
      }
      await markActionFailed(ds, req.ctx, instance.uuid).catch(() => undefined);
      throw err;
    }
  }

  app.get('/servers/:server_id/migrations', async (req: Req) => {
    since(req, '2.23');
    const instance = await authorized(req, 'index');
    const rows = await ds.getRepository(Migration).find({
      where: { instance_uuid: instance.uuid, migration_type: LIVE, status: In([...IN_PROGRESS_LIVE_STATUSES]), deleted_at: IsNull() },
      order: { id: 'ASC' },
    });
    return { migrations: rows.map((m) => serverMigrationView(m, req.apiVersion)) };
  });

  app.get('/servers/:server_id/migrations/:migration_id', async (req: Req) => {
    since(req, '2.23');
    const instance = await authorized(req, 'show');
    const mid = req.params.migration_id!;
    const m = await migrationOf(ds, instance, mid);
    if (!m) throw new NotFound(`In-progress live migration ${mid} is not found for server ${instance.uuid}.`);
    if (m.migration_type !== LIVE) throw new NotFound(`Migration ${mid} for server ${instance.uuid} is not live-migration.`);
    if (!isIn(IN_PROGRESS_LIVE_STATUSES, m)) throw new NotFound(`Live migration ${mid} for server ${instance.uuid} is not in progress.`);
    return { migration: serverMigrationView(m, req.apiVersion) };
  });

  app.post('/servers/:server_id/migrations/:migration_id/action', async (req: Req, reply) => {
    since(req, '2.22');
    validateBody(req, ForceCompleteBody, req.body);
    const rule = LIVE_MIGRATION_STEER_RULES.forceComplete;
    const instance = await authorized(req, 'force_complete', rule);
    const m = await migrationOf(ds, instance, req.params.migration_id!);
    if (!m) throw new BadRequest(notFoundForInstance(req.params.migration_id!, instance.uuid));
    if (m.migration_type !== LIVE || !isIn(FORCE_COMPLETABLE_LIVE_STATUSES, m)) throw stateError(m, instance.uuid, 'force complete');
    // Kept on the record first: the source's monitor applies it even if the cast below never arrives.
    const recorded = await requestLiveSteer(ds, m.id, 'force_complete');
    await recordAndCast(req, instance, rule, () => rpc.compute.liveMigrationForceComplete(rpcContext(req.ctx), m.source_compute!, m.id), recorded);
    return reply.code(202).send();
  });

  app.delete('/servers/:server_id/migrations/:migration_id', async (req: Req, reply) => {
    since(req, '2.24');
    const rule = LIVE_MIGRATION_STEER_RULES.abort;
    const instance = await authorized(req, 'delete', rule);
    const m = await migrationOf(ds, instance, req.params.migration_id!);
    if (!m) throw new NotFound(notFoundForInstance(req.params.migration_id!, instance.uuid));
    const abortable = versionIn(req.apiVersion, '2.65') ? ABORTABLE_LIVE_STATUSES : ABORTABLE_LIVE_STATUSES_BEFORE_2_65;
    if (m.migration_type !== LIVE || !isIn(abortable, m)) throw stateError(m, instance.uuid, 'abort live migration');
    // Not transferring yet: the record says so at once (the source rolls back when it gets there). Running: the record
    // keeps the abort for the source's monitor. Either way the cast is a nudge; a record that moved on meanwhile
    // (preparing → running) is the source's to abort, and the cast is then the abort itself.
    const recorded = m.status === 'running'
      ? await requestLiveSteer(ds, m.id, 'abort')
      : await advanceMigration(ds, m.id, [m.status], 'cancelled', 'api');
    await recordAndCast(req, instance, rule, () => rpc.compute.liveMigrationAbort(rpcContext(req.ctx), m.source_compute!, m.id), recorded);
    return reply.code(202).send();
  });
};
