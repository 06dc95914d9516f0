// Loads what server views need besides the rows themselves: latest faults and compute service states.
import type { FastifyRequest } from 'fastify';
import { InstanceFault } from '@ferry/common/db';
import type { ApiDeps } from '../../api-deps';
import { versionIn } from '../../http/microversion';
import { computeServiceStates, type ComputeServiceState } from './host-status';
import type { ServerRecord } from './server-record';
import { isoTime } from './format';
import { FAULT_STATUSES, serverStatus, sharedViews, type ServerFault, type ViewContext } from './views';

/** What loading a view context reads of each server. */
type Viewed = Pick<ServerRecord, 'uuid' | 'host' | 'deleted' | 'vm_state' | 'task_state'>;

async function latestFaults(deps: ApiDeps, instances: readonly Viewed[]): Promise<Map<string, ServerFault>> {
  const uuids = instances.filter((i) => FAULT_STATUSES.has(serverStatus(i))).map((i) => i.uuid);
  const out = new Map<string, ServerFault>();
  if (uuids.length === 0) return out;
  const rows = await deps.db.dataSource.getRepository(InstanceFault)
    .createQueryBuilder('f')
    .distinctOn(['f.instance_uuid'])
    .where('f.instance_uuid IN (:...uuids)', { uuids })
    .orderBy('f.instance_uuid')
    .addOrderBy('f.created_at', 'DESC')
    .addOrderBy('f.id', 'DESC')
    .getMany();
  for (const f of rows) out.set(f.instance_uuid, { code: f.code, created: isoTime(f.created_at), message: f.message, details: f.details });
  return out;
}

async function hostZones(deps: ApiDeps, instances: readonly Viewed[]): Promise<Map<string, string>> {
  const hosts = [...new Set(instances.map((i) => i.host).filter((h): h is string => !!h))];
  if (hosts.length === 0) return new Map();
  const rows: { host: string; availability_zone: string }[] = await deps.db.dataSource.query(
    'SELECT host, availability_zone FROM compute_nodes WHERE host = ANY($1)', [hosts],
  );
  return new Map(rows.map((r) => [r.host, r.availability_zone]));
}

/**
 * What the views of `instances` need. `hostZones` and `faults` may come with them (a listing joins each host's zone
 * and each server's latest fault); else they are looked up.
 */
export async function loadViewContext(
  deps: ApiDeps, req: FastifyRequest, instances: readonly Viewed[], known: { hostZones?: Map<string, string>; faults?: Map<string, ServerFault> } = {},
): Promise<ViewContext> {
  const isAdmin = req.ctx.is_admin;
  let hostStates = new Map<string, ComputeServiceState>();
  if (isAdmin && versionIn(req.apiVersion, '2.16')) {
    const hosts = instances.map((i) => i.host).filter((h): h is string => !!h);
    hostStates = await computeServiceStates(deps.db.dataSource, hosts, deps.config.serviceDownSeconds);
  }
  return {
    baseUrl: deps.publicUrl(),
    version: req.apiVersion,
    isAdmin,
    hostZones: known.hostZones ?? (await hostZones(deps, instances)),
    faults: known.faults ?? (await latestFaults(deps, instances)),
    hostStates,
    shared: sharedViews(),
  };
}
