// /v3/users: the user list (admin), one user and their projects (the user themself, or an admin).
import type { RoutesPlugin } from '../../api-deps';
import { NotFound } from '@ferry/common/domain';
import { callerToken, requireAdmin, requireAdminOrSelf } from '../caller';
import { findUserById, listUsers, projectsOfUser } from '../identity-store';
import { listFilter, ListQuery } from '../list-query';
import { collectionLinks, projectView, userView } from '../resource-views';

export const userRoutes: RoutesPlugin = async (app, { deps }) => {
  const ds = deps.db.dataSource;

  app.get<{ Querystring: ListQuery }>('/v3/users', { schema: { querystring: ListQuery } }, async (req) => {
    requireAdmin(await callerToken(req, ds), 'identity:list_users');
    const users = await listUsers(ds, listFilter(req.query));
    return { users: users.map((u) => userView(u, deps.publicUrl())), links: collectionLinks(`${deps.publicUrl()}/identity/v3/users`) };
  });

  app.get<{ Params: { id: string } }>('/v3/users/:id', async (req) => {
    requireAdminOrSelf(await callerToken(req, ds), req.params.id, 'identity:get_user');
    const user = await findUserById(ds, req.params.id);
    if (!user) throw new NotFound(`Could not find user: ${req.params.id}.`);
    return { user: userView(user, deps.publicUrl()) };
  });

  app.get<{ Params: { id: string } }>('/v3/users/:id/projects', async (req) => {
    requireAdminOrSelf(await callerToken(req, ds), req.params.id, 'identity:list_user_projects');
    const user = await findUserById(ds, req.params.id);
    if (!user) throw new NotFound(`Could not find user: ${req.params.id}.`);
    const projects = await projectsOfUser(ds, user.id);
    return {
      projects: projects.map((p) => projectView(p, deps.publicUrl())),
      links: collectionLinks(`${deps.publicUrl()}/identity/v3/users/${user.id}/projects`),
    };
  });
};
