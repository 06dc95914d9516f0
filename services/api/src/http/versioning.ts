// Negotiates the microversion of every /compute/v2.1 request and echoes it on the response.
import type { FastifyInstance } from 'fastify';
import { MIN_VERSION, negotiateVersion, versionHeaders, type ApiVersion } from './microversion';

export const COMPUTE_PREFIX = '/compute/v2.1';

export function registerVersioning(app: FastifyInstance): void {
  app.decorateRequest('apiVersion', null as unknown as ApiVersion);
  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith(COMPUTE_PREFIX)) return;
    req.apiVersion = MIN_VERSION;
    const version = negotiateVersion(req.headers);
    req.apiVersion = version;
    reply.headers(versionHeaders(version));
  });
}
