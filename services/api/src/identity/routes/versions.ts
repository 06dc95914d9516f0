// Version discovery: `GET /identity` (300, every version) and `GET /identity/v3` (the one version).
import type { RoutesPlugin } from '../../api-deps';
import { identityVersion, identityVersions } from '../versions';

export const versionRoutes: RoutesPlugin = async (app, { deps }) => {
  // Under the /identity prefix, '/' serves both /identity and /identity/.
  app.get('/', async (_req, reply) => reply.code(300).send(identityVersions(deps.publicUrl())));
  for (const path of ['/v3', '/v3/']) app.get(path, async () => ({ version: identityVersion(deps.publicUrl()) }));
};
