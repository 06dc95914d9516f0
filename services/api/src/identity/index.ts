// Identity v3, the subset OpenStack clients need: version discovery, password tokens, catalog, own projects.
import type { RoutesPlugin } from '../api-deps';
import { registerKeystoneErrors } from './keystone-errors';
import { authScopeRoutes } from './routes/auth-scopes';
import { authTokenRoutes } from './routes/auth-tokens';
import { projectRoutes } from './routes/projects';
import { userRoutes } from './routes/users';
import { versionRoutes } from './routes/versions';

export const IDENTITY_PREFIX = '/identity';

export { DbTokenValidator } from './token-validator';
export { tokenCacheFor } from './token-cache';
export { watchIdentityRevision } from './revision-watch';

export const identityRoutes: RoutesPlugin = async (app, { deps }) => {
  registerKeystoneErrors(app, () => `${deps.publicUrl()}${IDENTITY_PREFIX}`);
  for (const plugin of [versionRoutes, authTokenRoutes, authScopeRoutes, projectRoutes, userRoutes]) {
    await app.register(plugin, { deps });
  }
};
