// The HTTP application: routes and the error shape every response shares.
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '@ferry/common/log';
import { computeVersion } from './versions';

export interface AppOptions {
  log: Logger;
  /** Base URL clients reach the API at (used in links). */
  publicUrl: () => string;
}

/** OpenStack-style error body, e.g. {"itemNotFound": {"code": 404, "message": "..."}}. */
export function errorBody(kind: string, code: number, message: string) {
  return { [kind]: { code, message } };
}

export function buildApp(opts: AppOptions): FastifyInstance {
  const app = Fastify({ loggerInstance: opts.log as FastifyBaseLogger, bodyLimit: 1024 * 1024 });

  app.get('/', async () => ({ versions: [{ id: 'compute', links: [{ rel: 'self', href: `${opts.publicUrl()}/compute/` }] }] }));
  app.get('/compute/', async () => ({ versions: [computeVersion(opts.publicUrl())] }));
  app.get('/compute/v2.1/', async () => ({ version: computeVersion(opts.publicUrl()) }));
  app.get('/compute/v2.1', async () => ({ version: computeVersion(opts.publicUrl()) }));

  app.setNotFoundHandler(async (req, reply) =>
    reply.code(404).send(errorBody('itemNotFound', 404, `The resource could not be found: ${req.method} ${req.url}`)),
  );
  app.setErrorHandler(async (err: { statusCode?: number; message: string }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) req.log.error({ err }, 'request failed');
    const kind = status === 500 ? 'computeFault' : 'badRequest';
    return reply.code(status).send(errorBody(kind, status, status === 500 ? 'An unexpected error occurred.' : err.message));
  });
  return app;
}
