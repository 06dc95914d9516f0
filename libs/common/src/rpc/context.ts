// The request context every RPC message carries: who asked, and which request it belongs to.
import { randomUUID } from 'node:crypto';
import type { LogContext } from '../log';

export interface RequestContext {
  request_id: string;
  /** The request id of the originating request in another service, when there is one. */
  global_request_id?: string;
  user_id?: string;
  project_id?: string;
  roles: string[];
}

export function newRequestContext(partial: Partial<RequestContext> = {}): RequestContext {
  return {
    ...partial,
    request_id: partial.request_id ?? `req-${randomUUID()}`,
    roles: partial.roles ? [...partial.roles] : [],
  };
}

const OPTIONAL_IDS = ['global_request_id', 'user_id', 'project_id'] as const;

/** Rebuilds a context from a message; anything malformed is dropped rather than trusted. */
export function contextFromWire(raw: unknown): RequestContext {
  const src = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  const ctx: RequestContext = {
    request_id: typeof src.request_id === 'string' && src.request_id !== '' ? src.request_id : `req-${randomUUID()}`,
    roles: Array.isArray(src.roles) ? src.roles.filter((r): r is string => typeof r === 'string') : [],
  };
  for (const key of OPTIONAL_IDS) {
    const value = src[key];
    if (typeof value === 'string') ctx[key] = value;
  }
  return ctx;
}

/** The fields of ctx that belong on every log line written while handling its request. */
export function logBindings(ctx: RequestContext): LogContext {
  const bindings: LogContext = { request_id: ctx.request_id };
  for (const key of OPTIONAL_IDS) {
    if (ctx[key] !== undefined) bindings[key] = ctx[key];
  }
  return bindings;
}
