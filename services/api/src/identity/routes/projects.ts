// /v3/projects: the project list (admin) and one project (admin, or a token scoped to it); what name lookups use.
import type { RoutesPlugin } from '../../api-deps';
import { NotFound } from '@ferry/common/domain';
import { callerToken, isAdmin, forbidden, requireAdmin } from '../caller';
import { findProjectById, listProjects } from '../identity-store';
import { listFilter, ListQuery } from '../list-query';
import { collectionLinks, projectView } from '../resource-views';

export const projectRoutes: RoutesPlugin = async (app, { deps }) => {
  const ds = deps.db.dataSource;

  app.get<{ Querystring: ListQuery }>('/v3/projects', { schema: { querystring: ListQuery } }, async (req) => {
    requireAdmin(await callerToken(req, ds), 'identity:list_projects');
    const projects = await listProjects(ds, listFilter(req.query));
    return { projects: projects.map((p) => projectView(p, deps.publicUrl())), links: collectionLinks(`${deps.publicUrl()}/identity/v3/projects`) };
  });

  app.get<{ Params: { id: string } }>('/v3/projects/:id', async (req) => {
    const caller = await callerToken(req, ds);
    if (!isAdmin(caller) && caller.project?.id !== req.params.id) throw forbidden('identity:get_project');
    const project = await findProjectById(ds, req.params.id);
    if (!project) throw new NotFound(`Could not find project: ${req.params.id}.`);
    return { project: projectView(project, deps.publicUrl()) };
  });
};
