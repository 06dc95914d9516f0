// Identity errors leave as Keystone's `{"error": {code, message, title}}`, not as Nova faults.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { FerryError, httpStatusOf, UNEXPECTED_ERROR_MESSAGE } from '@ferry/common/domain';

export const AUTHENTICATION_REQUIRED = 'The request you have made requires authentication.';

const TITLES: Readonly<Record<number, string>> = Object.freeze({
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Request Entity Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
});

export function keystoneErrorBody(status: number, message: string) {
  return { error: { code: status, message, title: TITLES[status] ?? (status >= 500 ? 'Internal Server Error' : 'Error') } };
}

function send(reply: FastifyReply, status: number, message: string, authUri: string) {
  // Keystone names itself to a client that must authenticate.
  if (status === 401) reply.header('www-authenticate', `Keystone uri="${authUri}"`);
  return reply.code(status).send(keystoneErrorBody(status, message));
}

/** "Invalid input for field 'auth/identity': 'methods' is a required property", in Keystone's words. */
function validationMessage(err: FastifyError): string {
  const errors = err.validation ?? [];
  // A failed union (scope: "unscoped" or an object) reports each branch; its own error comes last.
  const first = errors.find((e) => e.keyword === 'anyOf') ?? errors[0];
  if (!first) return err.message;
  const field = first.instancePath.replace(/^\//, '') || (err.validationContext ?? 'body');
  const params = first.params as Record<string, unknown>;
  switch (first.keyword) {
    case 'required':
      return `Invalid input for field '${field}': '${String(params.missingProperty)}' is a required property`;
    case 'anyOf':
      return `Invalid input for field '${field}': it is not valid under any of the given schemas`;
    default:
      return `Invalid input for field '${field}': ${first.message ?? 'is invalid'}`;
  }
}

/** Installs, on the identity plugin only, error and not-found handlers speaking Keystone's shape. */
export function registerKeystoneErrors(app: FastifyInstance, authUri: () => string): void {
  app.setErrorHandler(async (err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof FerryError) {
      const status = httpStatusOf(err);
      const retryAfter = err.details?.retry_after;
      if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
      if (status >= 500) req.log.error({ err }, 'identity request failed');
      return send(reply, status, status >= 500 ? UNEXPECTED_ERROR_MESSAGE : err.message, authUri());
    }
    const fe = err as FastifyError;
    if (fe.validation) return send(reply, 400, validationMessage(fe), authUri());
    switch (fe.code) {
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return send(reply, 400, `Malformed request body: ${fe.message}`, authUri());
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return send(reply, 413, 'Request body is too large.', authUri());
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return send(reply, 415, `Unsupported Content-Type: ${req.headers['content-type'] ?? '(none)'}`, authUri());
    }
    if (err instanceof SyntaxError) return send(reply, 400, `Malformed request body: ${err.message}`, authUri());
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) return send(reply, fe.statusCode, fe.message, authUri());
    req.log.error({ err }, 'unexpected identity error');
    return send(reply, 500, UNEXPECTED_ERROR_MESSAGE, authUri());
  });
  app.setNotFoundHandler(async (req, reply) =>
    send(reply, 404, `The resource could not be found: ${req.method} ${req.url.split('?')[0]}`, authUri()));
}
