// /os-hypervisors: compute nodes with their service's state and their usage; the deprecated statistics,
// uptime, search and servers routes are served in the microversions that have them. Admin only.
import { NotFound } from '@ferry/common/domain';
import type { RoutesPlugin } from '../../api-deps';
import { formatVersion, versionIn, type ApiVersion } from '../../http/microversion';
import { requireAdmin } from '../../http/policy';
import { type Query } from '../common/request-params';
import { COMPUTE_BINARY, loadServicesByHost } from '../services/service-rows';
import { aggregateRoutes } from './aggregates';
import { listHypervisors, nodesMatching } from './list';
import { loadNodes, serversByHost } from './nodes';
import { findHypervisor, hypervisorPathId, readShowQuery, showHypervisor } from './show';
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

  // Ferry does not track host uptime; Nova answers 501 for drivers that cannot tell, and clients expect that.
  app.get<{ Params: { id: string } }>('/os-hypervisors/:id/uptime', async (req, reply) => {
    requireAdmin(req.ctx, `${POLICY}:uptime`);
    await findHypervisor(ds, downSeconds(), req.params.id, hypervisorPathId(req.params.id, req.apiVersion));
    return reply.code(501).send({ notImplemented: { code: 501, message: 'The requested functionality is not supported.' } });
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
