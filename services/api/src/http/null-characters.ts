// A NUL character can never match a stored value and Postgres refuses it in text: a request carrying one in a path
// parameter, the query string or a JSON string is bad input (400), not a database failure (500).
import type { FastifyInstance } from 'fastify';
import { BadRequest } from '@ferry/common/domain';

/** True if any string (or key) in value contains U+0000; iterative, so a deeply nested body cannot overflow the stack. */
export function containsNul(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length) {
    const v = pending.pop();
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return true;
    } else if (Array.isArray(v)) {
      for (const x of v) pending.push(x);
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k.includes('\u0000')) return true;
        pending.push(x);
      }
    }
  }
  return false;
}

export function registerNullCharacterGuard(app: FastifyInstance): void {
  // preValidation: after the body is parsed, before any handler reads it; errors take the route's own error shape.
  app.addHook('preValidation', async (req) => {
    if (containsNul(req.params) || containsNul(req.query) || containsNul(req.body)) {
      throw new BadRequest('Invalid input: the request contains a null character.');
    }
  });
}
