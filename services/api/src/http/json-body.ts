// The JSON body parser of every API: an empty body is no body, as Nova (webob) reads it; anything else must be JSON.
import type { FastifyInstance } from 'fastify';

/**
 * Clients send `Content-Type: application/json` with an empty body on DELETE and GET (novaclient, SDKs); Nova takes
 * that as no body, fastify's default parser answers 400. Non-empty bodies still go through fastify's own parser, so
 * malformed JSON and prototype poisoning stay 400s, and routes that need a body still refuse a missing one.
 */
export function registerJsonBody(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body.length === 0) {
      done(null, undefined);
      return;
    }
    parseJson(req, body as string, done);
  });
}
