// Every error leaves the API as an OpenStack fault body with the right status; bad input is never a 5xx.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { FerryError, httpStatusOf, openstackErrorBody, openstackFaultName, UNEXPECTED_ERROR_MESSAGE } from '@ferry/common/domain';
import { isDatabaseUnavailable } from '@ferry/common/db';
import { MicroversionError } from './microversion';

function fault(reply: FastifyReply, status: number, message: string) {
  return reply.code(status).send({ [openstackFaultName(status)]: { code: status, message } });
}

/** "Invalid input for field/attribute flavorRef. Value: ... " in Nova's words, from an ajv error. */
function validationMessage(err: FastifyError): string {
  const first = err.validation?.[0];
  if (!first) return err.message;
  const params = first.params as Record<string, unknown>;
  if (first.keyword === 'additionalProperties') {
    return `Additional properties are not allowed ('${String(params.additionalProperty)}' was unexpected)`;
  }
  if (first.keyword === 'required') return `'${String(params.missingProperty)}' is a required property`;
  const field = first.instancePath.replace(/^\//, '').replace(/\//g, '.') || (err.validationContext ?? 'body');
  return `Invalid input for field/attribute ${field}. ${first.message ?? 'is invalid'}`;
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(async (err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof FerryError) {
      const status = httpStatusOf(err);
      if (status >= 500) req.log.error({ err }, 'request failed');
      return reply.code(status).send(openstackErrorBody(err));
    }
    if (err instanceof MicroversionError) return fault(reply, err.status, err.message);
    const fe = err as FastifyError;
    if (fe.validation) return fault(reply, 400, validationMessage(fe));
    switch (fe.code) {
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return fault(reply, 400, `Malformed request body: ${fe.message}`);
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return fault(reply, 413, 'Request body is too large.');
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return fault(reply, 415, `Unsupported Content-Type: ${req.headers['content-type'] ?? '(none)'}`);
    }
    if (err instanceof SyntaxError) return fault(reply, 400, `Malformed request body: ${err.message}`);
    if (fe.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) return fault(reply, fe.statusCode, fe.message);
    if (isDatabaseUnavailable(err)) {
      // Restarting or failing over: nothing was changed that the next attempt would not find, so the client retries.
      req.log.warn({ err: err.message }, 'database unavailable');
      void reply.header('retry-after', '5');
      return fault(reply, 503, 'The database is unavailable; try again shortly.');
    }
    req.log.error({ err }, 'unexpected error');
    return fault(reply, 500, UNEXPECTED_ERROR_MESSAGE);
  });

  app.setNotFoundHandler(async (req, reply) => fault(reply, 404, `The resource could not be found: ${req.method} ${req.url.split('?')[0]}`));
}
