// GET /flavors/{id}/os-flavor-access: which projects may use a private flavor. Ferry keeps no per-project
// grants (a private flavor is an admin's flavor), so the list is empty; public flavors have none, as in Nova.
import { NotFound } from '@ferry/common/domain';
import type { RoutesPlugin } from '../../api-deps';
import { requireAdmin } from '../../http/policy';
import { getFlavor } from './repo';

export const flavorAccessRoutes: RoutesPlugin = async (app, { deps }) => {
  app.get<{ Params: { flavorId: string } }>('/flavors/:flavorId/os-flavor-access', async (req) => {
    requireAdmin(req.ctx, 'os_compute_api:os-flavor-access');
    const flavor = await getFlavor(deps.db.dataSource, req.params.flavorId, false);
    if (flavor.is_public) throw new NotFound('Access list not available for public flavors.');
    return { flavor_access: [] };
  });
};
