// The HTTP application: identity, compute and image APIs behind shared auth, versioning and error handling.
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { ApiDeps } from './api-deps';
import { computeRoutes } from './compute';
import { dashboardRoutes } from './dashboard';
import { behindToken, type TokenValidator } from './http/auth';
import { registerErrorHandling } from './http/errors';
import { frameworkErrors } from './http/framework-errors';
import { registerJsonBody } from './http/json-body';
import { registerNullCharacterGuard } from './http/null-characters';
import { endUnusedConnectionsOnClose } from './http/unused-connections';
import { COMPUTE_PREFIX, negotiateMicroversions } from './http/versioning';
import { DbTokenValidator, identityRoutes, IDENTITY_PREFIX, tokenCacheFor, watchIdentityRevision } from './identity';
import { imageRoutes, imageVersionRoutes, IMAGE_PREFIX } from './image';
import { metricsRoutes } from './metrics';
import { computeVersion } from './versions';

export const BODY_LIMIT_BYTES = 1024 * 1024;

export interface BuildAppOptions {
  /** Who a token belongs to (default: Keystone's tokens in the database); tests give fixed ones. */
  tokens?: TokenValidator;
}

export function buildApp(deps: ApiDeps, opts: BuildAppOptions = {}): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    genReqId: () => `req-${randomUUID()}`,
    requestIdHeader: false,
    logController: new LogController({ requestIdLogLabel: 'request_id' }),
    frameworkErrors,
    // Nova's schemas reject what they do not know: never strip, coerce or default silently.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
  });
  app.addHook('onSend', async (req, reply) => {
    reply.header('x-openstack-request-id', req.id);
    reply.header('x-compute-request-id', req.id);
  });
  registerErrorHandling(app);
  registerJsonBody(app);
  registerNullCharacterGuard(app);
  endUnusedConnectionsOnClose(app);
  const tokens = opts.tokens ?? new DbTokenValidator(deps.db.dataSource);
  const revisions = watchIdentityRevision(deps.db.dataSource, tokenCacheFor(deps.db.dataSource), deps.log);
  app.addHook('onClose', async () => revisions.stop());

  app.get('/', async () => ({
    versions: [
      { id: 'compute', links: [{ rel: 'self', href: `${deps.publicUrl()}/compute/` }] },
      { id: 'identity', links: [{ rel: 'self', href: `${deps.publicUrl()}${IDENTITY_PREFIX}/` }] },
      { id: 'image', links: [{ rel: 'self', href: `${deps.publicUrl()}${IMAGE_PREFIX}/` }] },
    ],
  }));
  app.get('/compute', async () => ({ versions: [computeVersion(deps.publicUrl())] }));
  app.get('/compute/', async () => ({ versions: [computeVersion(deps.publicUrl())] }));
  app.get(`${COMPUTE_PREFIX}/`, async () => ({ version: computeVersion(deps.publicUrl()) }));
  app.get(COMPUTE_PREFIX, async () => ({ version: computeVersion(deps.publicUrl()) }));

  void app.register(identityRoutes, { prefix: IDENTITY_PREFIX, deps });
  // Only the version documents above are open; every compute and image route needs a token.
  void app.register(behindToken(tokens, computeRoutes, negotiateMicroversions), { prefix: COMPUTE_PREFIX, deps });
  void app.register(imageVersionRoutes, { prefix: IMAGE_PREFIX, deps });
  void app.register(behindToken(tokens, imageRoutes), { prefix: IMAGE_PREFIX, deps });
  void app.register(behindToken(tokens, metricsRoutes), { deps });
  // The page is open (it holds no data); its ticket and event-stream routes check the token themselves.
  void app.register(dashboardRoutes, { deps, tokens });
  return app;
}
