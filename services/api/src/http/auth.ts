// Token authentication for the compute and image APIs: X-Auth-Token → ApiContext, or 401.
import type { FastifyInstance, FastifyRequest } from 'fastify';
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

/** Requires a valid token on every route under the given prefixes. */
export function registerAuth(app: FastifyInstance, validator: TokenValidator, prefixes: string[]): void {
  app.decorateRequest('ctx', null as unknown as ApiContext);
  app.addHook('onRequest', async (req) => {
    const path = req.url.split('?')[0]!;
    if (!prefixes.some((p) => path.startsWith(p))) return;
    if (isVersionDocument(path, prefixes)) return;
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

/** Version discovery documents (`GET /compute/`, `GET /compute/v2.1/`) need no token, as in Nova. */
function isVersionDocument(path: string, prefixes: string[]): boolean {
  return prefixes.some((p) => path === p || path === `${p}/` || path === `${p}/v2.1` || path === `${p}/v2.1/` || path === `${p}/v2` || path === `${p}/v2/`);
}
