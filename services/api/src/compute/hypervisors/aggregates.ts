// GET /os-aggregates: Ferry has no host aggregates, but `openstack hypervisor show` lists them to print a
// hypervisor's memberships, so the list exists and is always empty. Admin only, as in Nova.
import type { RoutesPlugin } from '../../api-deps';
import { requireAdmin } from '../../http/policy';

export const aggregateRoutes: RoutesPlugin = async (app) => {
  app.get('/os-aggregates', async (req) => {
    requireAdmin(req.ctx, 'os_compute_api:os-aggregates:index');
    return { aggregates: [] };
  });
};
