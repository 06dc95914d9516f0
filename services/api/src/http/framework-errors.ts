// Requests fastify's router refuses before any route or error handler runs (a path that is not valid percent-encoding,
// a path parameter past maxParamLength) still answer in the error shape of the API the path belongs to.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { openstackFaultName, UNEXPECTED_ERROR_MESSAGE } from '@ferry/common/domain';
import { keystoneErrorBody } from '../identity/keystone-errors';

const IDENTITY = /^\/identity(\/|$|\?)/;

/** The path as the router reads it (percent-escapes decoded), or as sent when it does not decode. */
function routedPath(raw: string): string {
  try {
    return decodeURIComponent(raw.split('?')[0]!);
  } catch {
    return raw;
  }
}

const ANSWERS: Readonly<Record<string, { status: number; message: string }>> = {
  FST_ERR_BAD_URL: { status: 400, message: 'The request URI is not valid percent-encoding.' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, message: 'The request URI is too long.' },
};

/** fastify's `frameworkErrors` option. */
export function frameworkErrors(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const { status, message } = ANSWERS[err.code] ?? { status: 500, message: UNEXPECTED_ERROR_MESSAGE };
  if (status >= 500) req.log.error({ err }, 'request refused by the router');
  void reply.code(status).send(IDENTITY.test(routedPath(req.raw.url ?? ''))
    ? keystoneErrorBody(status, message)
    : { [openstackFaultName(status)]: { code: status, message } });
}
