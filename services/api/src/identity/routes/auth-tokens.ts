// /v3/auth/tokens: issue (POST), validate (GET, HEAD) and revoke (DELETE) tokens.
import type { FastifyRequest } from 'fastify';
import type { RoutesPlugin } from '../../api-deps';
import { authenticate, AuthenticationFailed } from '../authenticate';
import { callerToken, requireAdminOrSelf, subjectToken } from '../caller';
import { issueToken } from '../issue-token';
import { LoginGuard } from '../login-guard';
import { AuthRequest } from '../schemas';
import { tokenCacheFor } from '../token-cache';
import { revokeToken } from '../token-store';
import { tokenView } from '../token-view';

const SUBJECT_TOKEN = 'X-Subject-Token';

/** Keystone reads `?nocatalog` by presence alone. */
function wantsCatalog(req: FastifyRequest): boolean {
  return !Object.prototype.hasOwnProperty.call(req.query ?? {}, 'nocatalog');
}

export const authTokenRoutes: RoutesPlugin = async (app, { deps }) => {
  const ds = deps.db.dataSource;
  const guard = new LoginGuard(ds, deps.config);
  const view = (req: FastifyRequest) => ({ baseUrl: deps.publicUrl(), region: deps.config.region, catalog: wantsCatalog(req) });

  app.post<{ Body: AuthRequest }>('/v3/auth/tokens', { schema: { body: AuthRequest } }, async (req, reply) => {
    const auth = await authenticate(ds, req.body, { guard, address: req.ip }).catch((err: unknown) => {
      if (err instanceof AuthenticationFailed) req.log.info({ reason: err.reason }, 'authentication failed');
      throw err;
    });
    const { id, record } = await issueToken(ds, auth, deps.config.tokenTtlSeconds);
    req.log.info({ audit_id: record.auditId, user_id: record.user.id, project_id: record.project?.id ?? null }, 'token issued');
    return reply.code(201).header(SUBJECT_TOKEN, id).send(tokenView(record, view(req)));
  });

  // HEAD comes with GET: same checks, same status, no body.
  app.get('/v3/auth/tokens', async (req, reply) => {
    const caller = await callerToken(req, ds);
    const subject = await subjectToken(req, ds);
    requireAdminOrSelf(caller, subject.token.user.id, 'identity:validate_token');
    return reply.header(SUBJECT_TOKEN, subject.id).send(tokenView(subject.token, view(req)));
  });

  app.delete('/v3/auth/tokens', async (req, reply) => {
    const caller = await callerToken(req, ds);
    const subject = await subjectToken(req, ds);
    requireAdminOrSelf(caller, subject.token.user.id, 'identity:revoke_token');
    const auditId = await revokeToken(ds, subject.token.idHash, new Date());
    tokenCacheFor(ds).evict(subject.token.idHash);
    req.log.info({ audit_id: auditId ?? subject.token.auditId, by_user_id: caller.user.id }, 'token revoked');
    return reply.code(204).send();
  });
};
