// GET /servers, /servers/detail and /servers/{id}.
import type { FastifyRequest } from 'fastify';
import type { ApiDeps } from '../../api-deps';
import { COMPUTE_PREFIX } from '../../http/versioning';
import { nextLinks } from '../common/paging';
import { parseListQuery, type Query } from './filters';
import { listInstances, type ListedServer } from './list-query';
import { findVisibleInstance } from './lookup';
import { serverRecordOf } from './server-record';
import { loadViewContext } from './view-context';
import { serverSummary, serverView, type ServerFault } from './views';

/** The zone of each listed server's host, as the listing's join found it. */
function hostZonesOf(instances: readonly ListedServer[]): Map<string, string> {
  const zones = new Map<string, string>();
  for (const i of instances) if (i.host && i.host_zone !== null) zones.set(i.host, i.host_zone);
  return zones;
}

/** The latest fault of each listed server that shows one, as the listing's join found it. */
function faultsOf(instances: readonly ListedServer[]): Map<string, ServerFault> {
  const faults = new Map<string, ServerFault>();
  for (const i of instances) if (i.fault) faults.set(i.uuid, i.fault);
  return faults;
}

export async function listServers(deps: ApiDeps, req: FastifyRequest, detail: boolean) {
  const query = (req.query ?? {}) as Query;
  const q = parseListQuery(query, req.ctx, req.apiVersion, detail);
  const instances = await listInstances(deps.db.dataSource, q, deps.config.apiListTimeoutMs);
  const baseUrl = deps.publicUrl();
  let servers: Record<string, unknown>[];
  if (detail) {
    const vc = await loadViewContext(deps, req, instances, { hostZones: hostZonesOf(instances), faults: faultsOf(instances) });
    servers = instances.map((i) => serverView(vc, i));
  } else {
    servers = instances.map((i) => serverSummary(baseUrl, i));
  }
  const path = `${COMPUTE_PREFIX}/servers${detail ? '/detail' : ''}`;
  const links = nextLinks(baseUrl, path, query, q.page, instances.map((i) => ({ id: i.uuid })));
  return { servers, ...(links ? { servers_links: links } : {}) };
}

export async function showServer(deps: ApiDeps, req: FastifyRequest<{ Params: { server_id: string } }>) {
  const instance = await findVisibleInstance(deps.db.dataSource, req.ctx, req.params.server_id);
  const server = serverRecordOf(instance);
  const vc = await loadViewContext(deps, req, [server]);
  return { server: serverView(vc, server, { serverGroups: true }) };
}
