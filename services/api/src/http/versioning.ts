// Negotiates the microversion of every Compute API request and echoes it on the response.
import type { FastifyInstance } from 'fastify';
import { negotiateVersion, versionHeaders, type ApiVersion } from './microversion';

export const COMPUTE_PREFIX = '/compute/v2.1';

/**
 * Every route registered in `scope` is served at the negotiated microversion. Like token checks, this
 * follows the route that matched rather than a prefix of the raw URL.
 */
export function negotiateMicroversions(scope: FastifyInstance): void {
  scope.decorateRequest('apiVersion', null as unknown as ApiVersion);
  scope.addHook('onRequest', async (req, reply) => {
    const version = negotiateVersion(req.headers);
    req.apiVersion = version;
    reply.headers(versionHeaders(version));
  });
}
