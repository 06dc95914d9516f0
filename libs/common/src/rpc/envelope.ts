// The wire format: what a call or cast carries, what a reply carries, and how failures cross the wire.
import { randomUUID } from 'node:crypto';
import { errorTypeFor } from '../domain/errors/catalog';
import { FerryError, type FailurePayload } from '../domain/errors/ferry-error';
import { contextFromWire, type RequestContext } from './context';
import { MalformedMessage, RemoteError } from './errors';
import { versionOf, type Target } from './target';
import { isVersion } from './version';

export interface Envelope {
  method: string;
  args: Record<string, unknown>;
  version: string;
  context: RequestContext;
  /** Present only for endpoints that declare a namespace. */
  namespace?: string;
  /** Unique per message, for tracing and duplicate detection. */
  _unique_id: string;
  /** Calls only: the reply's correlation id (also the AMQP correlationId). */
  _msg_id?: string;
  /** Calls only: where the reply goes. */
  _reply_q?: string;
}

export type Reply = { result?: unknown } | { failure: FailurePayload };

/** The envelope of a call or cast of method to target; the transport adds what a call needs for its reply. */
export function buildEnvelope(target: Target, context: RequestContext, method: string, args: object): Envelope {
  const env: Envelope = { method, args: args as Record<string, unknown>, version: versionOf(target), context, _unique_id: randomUUID() };
  if (target.namespace !== undefined) env.namespace = target.namespace;
  return env;
}

/** The envelope in body, or a FerryError saying why it is not one. */
export function parseEnvelope(body: unknown): Envelope {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw malformed('message is not an object');
  const raw = body as Record<string, unknown>;
  if (typeof raw.method !== 'string' || raw.method === '') throw malformed('message has no method');
  const args = raw.args ?? {};
  if (args === null || typeof args !== 'object' || Array.isArray(args)) throw malformed(`arguments of ${raw.method} are not an object`);
  if (!isVersion(raw.version)) throw malformed(`version of ${raw.method} is not "major.minor"`);
  if (raw.namespace !== undefined && typeof raw.namespace !== 'string') throw malformed('namespace is not a string');
  const env: Envelope = {
    method: raw.method,
    args: args as Record<string, unknown>,
    version: raw.version,
    context: contextFromWire(raw.context),
    _unique_id: typeof raw._unique_id === 'string' ? raw._unique_id : '',
  };
  if (raw.namespace !== undefined) env.namespace = raw.namespace as string;
  if (typeof raw._msg_id === 'string') env._msg_id = raw._msg_id;
  if (typeof raw._reply_q === 'string') env._reply_q = raw._reply_q;
  return env;
}

function malformed(message: string): MalformedMessage {
  return new MalformedMessage(message);
}

/** How err travels back to the caller. Only FerryErrors keep their type's meaning on the other side. */
export function failureOf(err: unknown): FailurePayload {
  if (err instanceof FerryError) return err.toFailure();
  if (err instanceof Error) return { type: err.name || 'Error', message: err.message, retryable: false };
  return { type: 'Error', message: String(err), retryable: false };
}

/** The type a failure travels under (a FerryError's code, else the error's name): the label it is counted by. */
export function failureType(err: unknown): string {
  return failureOf(err).type;
}

/** The typed error for failure when its type is on the allow-list, otherwise a RemoteError. */
export function errorFromFailure(failure: FailurePayload): FerryError {
  const ctor = errorTypeFor(failure.type);
  return ctor ? new ctor(failure.message, failure.details) : RemoteError.fromFailure(failure);
}

/** The result a reply body carries; throws the failure it carries instead. */
export function resultOf(body: unknown): unknown {
  if (body === null || typeof body !== 'object') throw new MalformedMessage('reply is not an object');
  const reply = body as Record<string, unknown>;
  if (reply.failure === undefined) return reply.result;
  const f = reply.failure as Partial<FailurePayload> | null;
  if (f === null || typeof f !== 'object' || typeof f.type !== 'string') throw new MalformedMessage('reply failure has no type');
  throw errorFromFailure({
    type: f.type,
    message: typeof f.message === 'string' ? f.message : '',
    retryable: f.retryable === true,
    ...(f.details !== null && typeof f.details === 'object' ? { details: f.details } : {}),
  });
}
