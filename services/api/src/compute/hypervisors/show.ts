// GET /os-hypervisors/{id} (with_servers from 2.53), and how {id} paths (uptime too) read: integer ids until 2.52, uuids from 2.53.
import type { DataSource } from 'typeorm';
import { BadRequest, NotFound } from '@ferry/common/domain';
import { versionIn, type ApiVersion } from '../../http/microversion';
import { boolParam, integerId, isUuidLike, rejectRepeated, rejectUnknownParams, type Query } from '../common/request-params';
import { COMPUTE_BINARY, loadServicesByHost, type ServiceRow } from '../services/service-rows';
import { loadNodes, serversByHost, type NodeUsage } from './nodes';
import { hypervisorView } from './views';

function notFound(id: string): NotFound {
  return new NotFound(`Hypervisor with ID '${id}' could not be found.`);
}

/** The path id as this microversion reads it: from 2.53 a uuid (else 400), before an integer (else 404). */
export function hypervisorPathId(raw: string, v: ApiVersion): number | string {
  if (versionIn(v, '2.53')) {
    if (!isUuidLike(raw)) throw new BadRequest(`Invalid uuid ${raw}`);
    return raw;
  }
  const id = integerId(raw);
  if (id === undefined) throw notFound(raw);
  return id;
}

/** The node a path names with its compute service; 404 when either is missing. */
export async function findHypervisor(ds: DataSource, downSeconds: number, raw: string, id: number | string): Promise<{ node: NodeUsage; svc: ServiceRow }> {
  const [node] = await loadNodes(ds, { id });
  if (!node) throw notFound(raw);
  const svc = (await loadServicesByHost(ds, downSeconds, COMPUTE_BINARY, [node.host])).get(node.host);
  if (!svc) throw notFound(raw);
  return { node, svc };
}

export function readShowQuery(query: Query, v: ApiVersion): boolean {
  if (!versionIn(v, '2.53')) return false;
  rejectUnknownParams(query, ['with_servers']);
  rejectRepeated(query, ['with_servers']);
  return boolParam(query, 'with_servers') ?? false;
}

export async function showHypervisor(ds: DataSource, downSeconds: number, v: ApiVersion, raw: string, withServers: boolean) {
  const { node, svc } = await findHypervisor(ds, downSeconds, raw, hypervisorPathId(raw, v));
  const servers = withServers ? (await serversByHost(ds, [node.host])).get(node.host) ?? [] : undefined;
  return { hypervisor: hypervisorView(node, svc, v, { detail: true, withServers, ...(servers ? { servers } : {}) }) };
}
