// /os-services: list compute and scheduler services (by Nova's binary names) with their state; enable, disable, force down, delete. Admin only.
import type { RoutesPlugin } from '../../api-deps';
import { requireAdmin } from '../../http/policy';
import { versionIn } from '../../http/microversion';
import { deleteService } from './delete';
import { ferryBinary, UNLISTED_BINARIES } from './nova-binaries';
import { lastValue, rejectUnknownParams, type Query } from '../common/request-params';
import { ServiceUpdateBody, type ServiceUpdate } from './schemas';
import { loadServices } from './service-rows';
import { checkUpdateBodyKeys, requireUuid, updateByAction, updateByUuid } from './update';
import { serviceView } from './views';

const POLICY = 'os_compute_api:os-services';

export const serviceRoutes: RoutesPlugin = async (app, { deps }) => {
  const ds = deps.db.dataSource;
  const downSeconds = () => deps.config.serviceDownSeconds;

  app.get('/os-services', async (req) => {
    const query = req.query as Query;
    if (versionIn(req.apiVersion, '2.75')) rejectUnknownParams(query, ['host', 'binary']);
    requireAdmin(req.ctx, `${POLICY}:list`);
    const host = lastValue(query, 'host');
    const asked = lastValue(query, 'binary');
    const binary = asked && ferryBinary(asked);
    const services = (await loadServices(ds, downSeconds()))
      .filter((s) => !UNLISTED_BINARIES.includes(s.binary) && (!host || s.host === host) && (!binary || s.binary === binary));
    return { services: services.map((s) => serviceView(s, req.apiVersion)) };
  });

  app.put<{ Params: { id: string }; Body: ServiceUpdate }>('/os-services/:id', { schema: { body: ServiceUpdateBody } }, async (req) => {
    checkUpdateBodyKeys(req.body, req.apiVersion);
    if (versionIn(req.apiVersion, '2.53')) {
      const id = requireUuid(req.params.id);
      requireAdmin(req.ctx, `${POLICY}:update`);
      return updateByUuid(ds, downSeconds(), req.apiVersion, id, req.body);
    }
    requireAdmin(req.ctx, `${POLICY}:update`);
    return updateByAction(ds, req.apiVersion, req.params.id, req.body);
  });

  app.delete<{ Params: { id: string } }>('/os-services/:id', async (req, reply) => {
    requireAdmin(req.ctx, `${POLICY}:delete`);
    await deleteService(ds, downSeconds(), req.apiVersion, req.params.id);
    return reply.code(204).send();
  });
};
