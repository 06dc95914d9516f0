// Token authentication for the compute and image APIs: X-Auth-Token → ApiContext, or 401, per matched route.
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { NotAuthenticated } from '@ferry/common/domain';
import type { ApiContext } from './api-context';

/** What a valid token says about its holder. */
export interface TokenInfo {
  user_id: string;
  user_name: string;
  project_id: string;
  project_name: string;
  roles: string[];
  expires_at: Date;
}

export interface TokenValidator {
  /** The token's holder, or undefined when the token is unknown, expired, revoked or unscoped. */
  validate(token: string): Promise<TokenInfo | undefined>;
}

export const ADMIN_ROLE = 'admin';

/**
 * Requires a valid token on every route registered in `scope` (an encapsulated fastify plugin). The decision
 * follows the route the router matched, never the URL's text: the router decodes percent-escapes, so a
 * prefix test on the raw URL (`/%63ompute/...`) would let a request reach a handler with no caller.
 */
export function requireToken(scope: FastifyInstance, validator: TokenValidator): void {
  scope.decorateRequest('ctx', null as unknown as ApiContext);
  scope.addHook('onRequest', async (req) => {
    const token = headerToken(req);
    if (!token) throw new NotAuthenticated('The request you have made requires authentication.');
    const info = await validator.validate(token);
    if (!info) throw new NotAuthenticated('The request you have made requires authentication.');
    req.ctx = {
      request_id: String(req.id),
      global_request_id: globalRequestId(req),
      user_id: info.user_id,
      project_id: info.project_id,
      user_name: info.user_name,
      project_name: info.project_name,
      roles: info.roles,
      is_admin: info.roles.includes(ADMIN_ROLE),
    };
  });
}

function headerToken(req: FastifyRequest): string | undefined {
  const v = req.headers['x-auth-token'];
  return Array.isArray(v) ? v[0] : v || undefined;
}

/** A caller-supplied request id that chains requests across services (Nova's global_request_id). */
function globalRequestId(req: FastifyRequest): string | undefined {
  const v = req.headers['x-openstack-request-id'];
  const id = Array.isArray(v) ? v[0] : v;
  return id && /^req-[0-9a-f-]{36}$/.test(id) ? id : undefined;
}

/**
 * `plugin` with every one of its routes behind a token (and `also`, e.g. microversion negotiation, after it):
 * `app.register(behindToken(tokens, routes), { prefix, deps })`.
 */
export function behindToken<Options extends object>(
  tokens: TokenValidator,
  plugin: FastifyPluginAsync<Options>,
  ...also: ((scope: FastifyInstance) => void)[]
): FastifyPluginAsync<Options> {
  return async (scope, opts) => {
    requireToken(scope, tokens);
    for (const hook of also) hook(scope);
    // The prefix already applies to this scope; handing it on would apply it twice.
    const { prefix: _applied, ...inner } = opts as Options & { prefix?: string };
    await scope.register(plugin, inner as Options);
  };
}
