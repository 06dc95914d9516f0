// /v3/auth/catalog and /v3/auth/projects: what the caller's token reaches (keystoneauth's scope discovery).
import type { RoutesPlugin } from '../../api-deps';
import { Forbidden } from '@ferry/common/domain';
import { serviceCatalog } from '../catalog';
import { callerToken } from '../caller';
import { projectsOfUser } from '../identity-store';
import { collectionLinks, projectView } from '../resource-views';

export const authScopeRoutes: RoutesPlugin = async (app, { deps }) => {
  const ds = deps.db.dataSource;
  const self = (path: string) => `${deps.publicUrl()}/identity/v3/auth/${path}`;

  app.get('/v3/auth/catalog', async (req) => {
    const caller = await callerToken(req, ds);
    if (!caller.project) throw new Forbidden('A project-scoped token is required to produce a service catalog.');
    return { catalog: serviceCatalog(deps.publicUrl(), deps.config.region), links: collectionLinks(self('catalog')) };
  });

  app.get('/v3/auth/projects', async (req) => {
    const caller = await callerToken(req, ds);
    const projects = await projectsOfUser(ds, caller.user.id);
    return { projects: projects.map((p) => projectView(p, deps.publicUrl())), links: collectionLinks(self('projects')) };
  });

  // Ferry has no domain or system role assignments: these lists are always empty.
  app.get('/v3/auth/domains', async (req) => {
    await callerToken(req, ds);
    return { domains: [], links: collectionLinks(self('domains')) };
  });
  app.get('/v3/auth/system', async (req) => {
    await callerToken(req, ds);
    return { system: [], links: collectionLinks(self('system')) };
  });
};
