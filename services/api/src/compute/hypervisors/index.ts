// /os-hypervisors: compute nodes with their service's state and their usage; the deprecated statistics,
// uptime, search and servers routes are served in the microversions that have them. Admin only.
import { NotFound } from '@ferry/common/domain';
import { ComputeRpcApi } from '@ferry/compute/client';
import type { RoutesPlugin } from '../../api-deps';
import { formatVersion, versionIn, type ApiVersion } from '../../http/microversion';
import { requireAdmin } from '../../http/policy';
import { type Query } from '../common/request-params';
import { COMPUTE_BINARY, loadServicesByHost } from '../services/service-rows';
import { aggregateRoutes } from './aggregates';
import { listHypervisors, nodesMatching } from './list';
import { loadNodes, serversByHost } from './nodes';
import { rpcContext } from '../servers/rpc';
import { readShowQuery, showHypervisor } from './show';
import { hypervisorUptime } from './uptime';
import { hypervisorView, statisticsView } from './views';

const POLICY = 'os_compute_api:os-hypervisors';

/** Routes Nova removed at 2.53 answer 404 from then on. */
function requireBefore253(v: ApiVersion): void {
  if (versionIn(v, '2.53')) throw new NotFound(`API version ${formatVersion(v)} is not supported on this method.`);
}

export const hypervisorRoutes: RoutesPlugin = async (app, { deps }) => {
  const ds = deps.db.dataSource;
  const downSeconds = () => deps.config.serviceDownSeconds;
  const listCtx = () => ({ ds, downSeconds: downSeconds(), baseUrl: deps.publicUrl() });
  const rpcTimeoutMs = deps.config.rpcTimeoutSeconds * 1000;
  const compute = new ComputeRpcApi(deps.transport, { timeoutMs: rpcTimeoutMs, versionCap: deps.config.upgradeLevelsCompute });

  app.get('/os-hypervisors', async (req) => {
    requireAdmin(req.ctx, `${POLICY}:list`);
    return listHypervisors(listCtx(), req, false);
  });

  app.get('/os-hypervisors/detail', async (req) => {
    requireAdmin(req.ctx, `${POLICY}:list-detail`);
    return listHypervisors(listCtx(), req, true);
  });

  app.get('/os-hypervisors/statistics', async (req) => {
    requireAdmin(req.ctx, `${POLICY}:statistics`);
    const nodes = await loadNodes(ds);
    const services = await loadServicesByHost(ds, downSeconds(), COMPUTE_BINARY, nodes.map((n) => n.host));
    return statisticsView(nodes.filter((n) => services.has(n.host) && !services.get(n.host)!.disabled));
  });

  app.get<{ Params: { id: string } }>('/os-hypervisors/:id', async (req) => {
    const withServers = readShowQuery(req.query as Query, req.apiVersion);
    requireAdmin(req.ctx, `${POLICY}:show`);
    return showHypervisor(ds, downSeconds(), req.apiVersion, req.params.id, withServers);
  });

  // Served up to 2.87 in Nova, so at every microversion Ferry offers.
  app.get<{ Params: { id: string } }>('/os-hypervisors/:id/uptime', async (req) => {
    requireAdmin(req.ctx, `${POLICY}:uptime`);
    const env = { ds, downSeconds: downSeconds(), rpcTimeoutMs, compute };
    return hypervisorUptime(env, rpcContext(req.ctx), req.apiVersion, req.params.id);
  });

  app.get<{ Params: { pattern: string } }>('/os-hypervisors/:pattern/search', async (req) => {
    requireBefore253(req.apiVersion);
    requireAdmin(req.ctx, `${POLICY}:search`);
    const nodes = await nodesMatching(ds, req.params.pattern);
    const services = await loadServicesByHost(ds, downSeconds(), COMPUTE_BINARY, nodes.map((n) => n.host));
    return { hypervisors: nodes.flatMap((n) => (services.has(n.host) ? [hypervisorView(n, services.get(n.host)!, req.apiVersion, { detail: false })] : [])) };
  });

  app.get<{ Params: { pattern: string } }>('/os-hypervisors/:pattern/servers', async (req) => {
    requireBefore253(req.apiVersion);
    requireAdmin(req.ctx, `${POLICY}:servers`);
    const nodes = await nodesMatching(ds, req.params.pattern);
    const hosts = nodes.map((n) => n.host);
    const services = await loadServicesByHost(ds, downSeconds(), COMPUTE_BINARY, hosts);
    const servers = await serversByHost(ds, hosts);
    return {
      hypervisors: nodes.flatMap((n) => {
        const svc = services.get(n.host);
        return svc ? [hypervisorView(n, svc, req.apiVersion, { detail: false, servers: servers.get(n.host) ?? [] })] : [];
      }),
    };
  });

  await app.register(aggregateRoutes, { deps });
};
