// /flavors: list, detail and show for everyone (non-admins see enabled public flavors); create, delete
// and (2.55) description updates for admins; extra specs and the access list beside them.
import { NotFound } from '@ferry/common/domain';
import type { RoutesPlugin } from '../../api-deps';
import { formatVersion, versionIn } from '../../http/microversion';
import { requireAdmin } from '../../http/policy';
import { nextLinks } from '../common/paging';
import type { Query } from '../common/request-params';
import { flavorAccessRoutes } from './access';
import { extraSpecRoutes } from './extra-specs';
import { newFlavor } from './fields';
import { readFlavorListQuery } from './query';
import { createFlavor, deleteFlavor, getFlavor, listFlavors, setDescription } from './repo';
import { FlavorCreateBody, FlavorUpdateBody, type FlavorCreate, type FlavorUpdate } from './schemas';
import { flavorBrief, flavorDetail } from './views';

const POLICY = 'os_compute_api:os-flavor-manage';

type IdParams = { Params: { id: string } };

export const flavorRoutes: RoutesPlugin = async (app, { deps }) => {
  const ds = deps.db.dataSource;
  const base = () => deps.publicUrl();

  for (const detail of [false, true]) {
    app.get(detail ? '/flavors/detail' : '/flavors', async (req) => {
      const query = req.query as Query;
      const q = readFlavorListQuery(query, req.apiVersion, req.ctx);
      const rows = await listFlavors(ds, q);
      const flavors = rows.map((f) => (detail ? flavorDetail(f, req.apiVersion, base()) : flavorBrief(f, req.apiVersion, base())));
      const links = nextLinks(base(), `/compute/v2.1/flavors${detail ? '/detail' : ''}`, query, { limit: q.limit }, flavors);
      return { flavors, ...(links ? { flavors_links: links } : {}) };
    });
  }

  app.get<IdParams>('/flavors/:id', async (req) => {
    const flavor = await getFlavor(ds, req.params.id, !req.ctx.is_admin);
    return { flavor: flavorDetail(flavor, req.apiVersion, base()) };
  });

  app.post<{ Body: FlavorCreate }>('/flavors', { schema: { body: FlavorCreateBody } }, async (req) => {
    requireAdmin(req.ctx, `${POLICY}:create`);
    const created = await createFlavor(ds, newFlavor(req.body, req.apiVersion));
    return { flavor: flavorDetail(created, req.apiVersion, base()) };
  });

  app.put<IdParams & { Body: FlavorUpdate }>('/flavors/:id', { schema: { body: FlavorUpdateBody } }, async (req) => {
    if (!versionIn(req.apiVersion, '2.55')) throw new NotFound(`API version ${formatVersion(req.apiVersion)} is not supported on this method.`);
    requireAdmin(req.ctx, `${POLICY}:update`);
    const updated = await setDescription(ds, req.params.id, req.body.flavor.description);
    return { flavor: flavorDetail(updated, req.apiVersion, base()) };
  });

  app.delete<IdParams>('/flavors/:id', async (req, reply) => {
    requireAdmin(req.ctx, `${POLICY}:delete`);
    await deleteFlavor(ds, req.params.id);
    return reply.code(202).send();
  });

  await app.register(extraSpecRoutes, { deps });
  await app.register(flavorAccessRoutes, { deps });
};
