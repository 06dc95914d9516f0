// Ferry's host drain (admin only), what `ferry host drain` calls. POST disables the host's compute service and records
// the drain with its plan; the elected scheduler then moves every instance off (live where it can, cold where it must),
// within the per-host, per-cluster and link limits. GET shows progress; cancel stops it starting new moves (those
// under way finish). A dry run answers the plan and changes nothing.
import { randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { DataSource } from 'typeorm';
import {
  advanceDrain, createDrain, disableServiceForDrain, getDrain, isOpenDrainConflict, listDrains, listInstancesOnHost, type HostDrain,
} from '@ferry/common/db';
import { Conflict, DRAIN_MODES, isUuid, NotFound, planDrain, type DrainMode } from '@ferry/common/domain';
import type { RoutesPlugin } from '../../api-deps';
import { requireAdmin } from '../../http/policy';
import { requireKnownHost } from '../ferry-host-evacuations';
import { rpcContext } from '../servers/rpc';
import { validateBody } from '../servers/validate';
import { drainSummary, drainView, dryRunView } from './view';

const POLICY = 'os_compute_api:os-ferry-host-drains';

export const DrainBody = Type.Object({
  mode: Type.Optional(Type.Union(DRAIN_MODES.map((m) => Type.Literal(m)))),
  concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 128 })),
  dry_run: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });

const HostParam = Type.String({ minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9-._]*$' });

async function findDrain(ds: DataSource, id: string): Promise<HostDrain> {
  const drain = isUuid(id) ? await getDrain(ds, id) : undefined;
  if (!drain) throw new NotFound(`Host drain ${id} could not be found.`);
  return drain;
}

async function requireNotDraining(ds: DataSource, host: string): Promise<void> {
  const [open] = await listDrains(ds, { open: true, host });
  if (open) throw new Conflict(`Host ${host} is already being drained (drain ${open.id}, ${open.status}).`);
}

export const ferryHostDrainRoutes: RoutesPlugin = async (app, { deps }) => {
  const ds = deps.db.dataSource;

  app.post<{ Params: { host: string } }>('/os-ferry-hosts/:host/drain', async (req, reply) => {
    requireAdmin(req.ctx, POLICY);
    const host = validateBody<string>(req, HostParam, req.params.host);
    const body = validateBody<{ mode?: DrainMode; concurrency?: number; dry_run?: boolean }>(req, DrainBody, req.body ?? {});
    await requireKnownHost(ds, host);
    await requireNotDraining(ds, host);
    const mode = body.mode ?? 'auto';
    const concurrency = body.concurrency ?? deps.config.drainParallelPerHost;
    const plan = planDrain(mode, await listInstancesOnHost(ds, host));
    if (body.dry_run) return reply.code(200).send({ drain: dryRunView(host, mode, concurrency, plan) });
    const id = randomUUID();
    let drain: HostDrain;
    try {
      drain = await createDrain(ds, { id, host, mode, concurrency, plan, request_context: rpcContext(req.ctx) });
    } catch (err) {
      if (isOpenDrainConflict(err)) throw new Conflict(`Host ${host} is already being drained.`);
      throw err;
    }
    // First, so the scheduler places nothing new on it; the scheduler's pass does it too if this process dies here.
    await disableServiceForDrain(ds, drain);
    return reply.code(202).send({ drain: await drainView(ds, (await getDrain(ds, id))!) });
  });

  app.get('/os-ferry-drains', async (req) => {
    requireAdmin(req.ctx, POLICY);
    const drains = await listDrains(ds);
    return { drains: await Promise.all(drains.map((d) => drainSummary(ds, d))) };
  });

  app.get<{ Params: { id: string } }>('/os-ferry-drains/:id', async (req) => {
    requireAdmin(req.ctx, POLICY);
    return { drain: await drainView(ds, await findDrain(ds, req.params.id)) };
  });

  app.post<{ Params: { id: string } }>('/os-ferry-drains/:id/cancel', async (req, reply) => {
    requireAdmin(req.ctx, POLICY);
    const drain = await findDrain(ds, req.params.id);
    if (!(await advanceDrain(ds, drain.id, ['running'], 'cancelling'))) {
      if (drain.status !== 'cancelling') throw new Conflict(`Host drain ${drain.id} is ${drain.status}; only a running drain can be cancelled.`);
    }
    return reply.code(202).send({ drain: await drainView(ds, (await getDrain(ds, drain.id))!) });
  });
};
