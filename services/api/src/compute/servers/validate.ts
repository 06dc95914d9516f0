// Validates a body against a schema chosen at request time (per microversion or per action) with the app's own
// validator, failing exactly as a route schema would so the error handler words the 400 the same way.
import type { TSchema } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';

export function validateBody<T>(req: FastifyRequest, schema: TSchema, body: unknown): T {
  const validate = req.compileValidationSchema(schema, 'body');
  if (validate(body) === true) return body as T;
  throw Object.assign(new Error('request body failed validation'), { validation: validate.errors ?? [], validationContext: 'body', statusCode: 400 });
}
