// Ferry's whole-host evacuation (admin only), what `ferry host evacuate` calls. POST evacuates every evacuable server
// of a down host as one batch, at most `concurrency` at a time (the scheduler holds the rest until a slot frees); GET
// shows the batch's progress and hands its waiting evacuations back to the scheduler. State lives in the records.
import { randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { In, type DataSource } from 'typeorm';
import { getInstance, listInstancesOnHost, Migration } from '@ferry/common/db';
import { FerryError, NotFound, type EvacuationRequestData } from '@ferry/common/domain';
import { newRequestContext } from '@ferry/common/rpc';
import { ComputeRpcApi } from '@ferry/compute/client';
import { SchedulerRpcApi } from '@ferry/scheduler/client';
import type { RoutesPlugin } from '../../api-deps';
import { requireAdmin } from '../../http/policy';
import { acceptEvacuation, requireHostDown } from '../servers/actions/evacuate';
import { validateBody } from '../servers/validate';

const POLICY = 'os_compute_api:os-ferry-host-evacuations';
const DEFAULT_CONCURRENCY = 5;

export const StartBody = Type.Object({
  evacuate: Type.Object({ concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }, { additionalProperties: false }),
}, { additionalProperties: false });

const HostParam = Type.String({ minLength: 1, maxLength: 255, pattern: '^[a-zA-Z0-9-._]*$' });

export interface BatchServer {
  id: string;
  migration_id: number;
  /** waiting (no slot yet), running, evacuated, failed. */
  state: 'waiting' | 'running' | 'evacuated' | 'failed';
  status: string;
  dest: string | null;
  vm_state: string | null;
  error: string | null;
}

export interface BatchProgress {
  id: string;
  host: string;
  concurrency: number;
  servers: BatchServer[];
  counts: Record<BatchServer['state'], number>;
  done: boolean;
}

export async function requireKnownHost(ds: DataSource, host: string): Promise<void> {
  const rows: unknown[] = await ds.query(`SELECT 1 FROM services WHERE host = $1 AND "binary" = 'ferry-compute'`, [host]);
  if (rows.length === 0) throw new NotFound(`Compute host ${host} not found.`);
}

function stateOf(m: Migration): BatchServer['state'] {
  if (m.status === 'done' || m.status === 'completed') return 'evacuated';
  if (m.status === 'pre-migrating') return 'running';
  if (m.status === 'accepted') return (m.migrate_data as unknown as EvacuationRequestData).dispatched ? 'running' : 'waiting';
  return 'failed';
}

async function batchProgress(ds: DataSource, id: string): Promise<BatchProgress | undefined> {
  const records = await ds.getRepository(Migration).createQueryBuilder('m')
    .where(`m.migration_type = 'evacuation' AND m.migrate_data->'batch'->>'id' = :id`, { id }).orderBy('m.id').getMany();
  if (records.length === 0) return undefined;
  const batch = (records[0].migrate_data as unknown as EvacuationRequestData).batch!;
  const servers: BatchServer[] = [];
  for (const m of records) {
    const instance = await getInstance(ds, m.instance_uuid);
    servers.push({
      id: m.instance_uuid, migration_id: m.id, state: stateOf(m), status: m.status, dest: m.dest_compute, vm_state: instance?.vm_state ?? null,
      error: m.last_error ?? null,
    });
  }
  const counts = { waiting: 0, running: 0, evacuated: 0, failed: 0 };
  for (const s of servers) counts[s.state]++;
  return { id, host: records[0].source_compute!, concurrency: batch.concurrency, servers, counts, done: counts.waiting + counts.running === 0 };
}

export const ferryHostEvacuationRoutes: RoutesPlugin = async (app, { deps }) => {
  const ds = deps.db.dataSource;
  const timeoutMs = deps.config.rpcTimeoutSeconds * 1000;
  const scheduler = new SchedulerRpcApi(deps.transport, { timeoutMs, versionCap: deps.config.upgradeLevelsScheduler });
  const compute = new ComputeRpcApi(deps.transport, { timeoutMs, versionCap: deps.config.upgradeLevelsCompute });

  app.post<{ Params: { host: string } }>('/os-ferry-hosts/:host/evacuate', async (req, reply) => {
    requireAdmin(req.ctx, POLICY);
    const host = validateBody<string>(req, HostParam, req.params.host);
    const body = validateBody<{ evacuate: { concurrency?: number } }>(req, StartBody, req.body);
    // Each destination rebuilds through rebuild_instance: refused before anything changes while the compute cap predates it.
    compute.checkSendable('rebuild_instance');
    await requireKnownHost(ds, host);
    await requireHostDown(ds, host, deps.config.serviceDownSeconds);
    const batch = { id: randomUUID(), concurrency: body.evacuate.concurrency ?? DEFAULT_CONCURRENCY };
    const skipped: { id: string; reason: string }[] = [];
    let accepted = 0;
    for (const instance of await listInstancesOnHost(ds, host)) {
      try {
        await acceptEvacuation(ds, req.ctx, scheduler, instance, { host: null, force: false, adminPass: null, batch }, deps.config.serviceDownSeconds);
        accepted++;
      } catch (err) {
        if (!(err instanceof FerryError)) throw err;
        skipped.push({ id: instance.uuid, reason: err.message });
      }
    }
    const progress = accepted > 0 ? await batchProgress(ds, batch.id) : undefined;
    return reply.code(202).send({ evacuation: { ...(progress ?? { id: batch.id, host, concurrency: batch.concurrency, servers: [], done: true }), skipped } });
  });

  app.get<{ Params: { host: string; id: string } }>('/os-ferry-hosts/:host/evacuations/:id', async (req) => {
    requireAdmin(req.ctx, POLICY);
    const progress = await batchProgress(ds, req.params.id);
    if (!progress || progress.host !== req.params.host) throw new NotFound(`Host evacuation ${req.params.id} of ${req.params.host} not found.`);
    // Hand the waiting ones back to the scheduler: those for which a slot freed start now (the scheduler decides).
    const waiting = progress.servers.filter((s) => s.state === 'waiting');
    if (waiting.length > 0 && progress.counts.running < progress.concurrency) {
      const records = await ds.getRepository(Migration).findBy({ id: In(waiting.slice(0, progress.concurrency - progress.counts.running).map((s) => s.migration_id)) });
      for (const m of records) {
        const stored = (m.migrate_data as unknown as EvacuationRequestData).request_context;
        await scheduler.evacuateServer(newRequestContext(stored), m.id);
      }
    }
    return { evacuation: progress };
  });
};
