// GET /os-hypervisors and /os-hypervisors/detail: paging from 2.33, hostname pattern and with_servers from 2.53.
import type { FastifyRequest } from 'fastify';
import type { DataSource } from 'typeorm';
import { BadRequest, NotFound } from '@ferry/common/domain';
import { versionIn, type ApiVersion } from '../../http/microversion';
import { markerNotFound, nextLinks, pageRequest, type PageRequest } from '../common/paging';
import { boolParam, integerId, isUuidLike, lastValue, rejectRepeated, rejectUnknownParams, type Query } from '../common/request-params';
import { COMPUTE_BINARY, loadServicesByHost } from '../services/service-rows';
import { loadNodes, nodeExists, serversByHost, type NodeUsage } from './nodes';
import { hypervisorView } from './views';

const QUERY_2_53 = ['limit', 'marker', 'hypervisor_hostname_pattern', 'with_servers'];
const FQDN = /^[a-zA-Z0-9-._]*$/;

export interface ListQuery {
  page?: PageRequest;
  pattern?: string;
  withServers: boolean;
}

/** Reads the query a microversion accepts: nothing before 2.33, limit/marker from 2.33, closed from 2.53. */
export function readListQuery(query: Query, v: ApiVersion): ListQuery {
  if (!versionIn(v, '2.33')) return { withServers: false };
  if (!versionIn(v, '2.53')) return { page: pageRequest(query), withServers: false };
  rejectUnknownParams(query, QUERY_2_53);
  rejectRepeated(query, QUERY_2_53);
  const pattern = lastValue(query, 'hypervisor_hostname_pattern');
  if (pattern !== undefined && (!FQDN.test(pattern) || pattern.length < 1 || pattern.length > 255)) {
    throw new BadRequest(`Invalid input for query parameters hypervisor_hostname_pattern. Value: ${pattern}. '${pattern}' does not match '^[a-zA-Z0-9-._]*$'`);
  }
  const page = pageRequest(query);
  if (pattern !== undefined && ('limit' in query || page.marker !== undefined)) {
    throw new BadRequest('Paging over hypervisors with the hypervisor_hostname_pattern query parameter is not supported.');
  }
  return { page, ...(pattern !== undefined ? { pattern } : {}), withServers: boolParam(query, 'with_servers') ?? false };
}

/** The nodes matching a hostname pattern, or Nova's 404 when none does. */
export async function nodesMatching(ds: DataSource, pattern: string): Promise<NodeUsage[]> {
  const nodes = await loadNodes(ds, { pattern });
  if (nodes.length === 0) throw new NotFound(`No hypervisor matching '${pattern}' could be found.`);
  return nodes;
}

async function pageOfNodes(ds: DataSource, v: ApiVersion, page: PageRequest | undefined): Promise<NodeUsage[]> {
  if (!page) return loadNodes(ds);
  let after: number | string | undefined;
  if (page.marker !== undefined) {
    after = versionIn(v, '2.53') ? (isUuidLike(page.marker) ? page.marker : undefined) : integerId(page.marker);
    if (after === undefined || !(await nodeExists(ds, after))) throw markerNotFound(page.marker);
  }
  return loadNodes(ds, { limit: page.limit, ...(after !== undefined ? { after } : {}) });
}

export interface ListContext {
  ds: DataSource;
  downSeconds: number;
  baseUrl: string;
}

/** Builds the list body; nodes whose compute service was deleted are left out, as in Nova. */
export async function listHypervisors(ctx: ListContext, req: FastifyRequest, detail: boolean) {
  const v = req.apiVersion;
  const query = req.query as Query;
  const q = readListQuery(query, v);
  const nodes = q.pattern !== undefined ? await nodesMatching(ctx.ds, q.pattern) : await pageOfNodes(ctx.ds, v, q.page);
  const hosts = nodes.map((n) => n.host);
  const services = await loadServicesByHost(ctx.ds, ctx.downSeconds, COMPUTE_BINARY, hosts);
  const servers = q.withServers ? await serversByHost(ctx.ds, hosts) : undefined;
  const hypervisors = nodes.flatMap((n) => {
    const svc = services.get(n.host);
    return svc ? [hypervisorView(n, svc, v, { detail, withServers: q.withServers, ...(servers ? { servers: servers.get(n.host) ?? [] } : {}) })] : [];
  });
  const body: Record<string, unknown> = { hypervisors };
  if (q.page && q.pattern === undefined) {
    const path = `/compute/v2.1/os-hypervisors${detail ? '/detail' : ''}`;
    const links = nextLinks(ctx.baseUrl, path, query, q.page, hypervisors as { id: string | number }[]);
    if (links) body.hypervisors_links = links;
  }
  return body;
}
