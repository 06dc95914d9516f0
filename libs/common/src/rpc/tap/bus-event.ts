// A tapped message read as an operator wants it: kind, sender → target, method and version, instance, request id, failure.
import { decodeNotification } from '../amqp/oslo-notification';
import { NOTIFICATION_TOPIC } from '../names';
import type { TappedMessage } from './tapped-message';

export type BusEventKind = 'call' | 'cast' | 'reply' | 'notification';

export interface BusFailure {
  readonly type: string;
  readonly message: string;
}

/** One message on the bus, as `ferry bus tail --json` prints it and `GET /os-ferry-bus` streams it. */
export interface BusEvent {
  /** ISO 8601, when the tap saw it. */
  readonly time: string;
  readonly kind: BusEventKind;
  /** Who sent it: the sending process, the replying server, or a notification's publisher; null when unknown. */
  readonly sender: string | null;
  /** `compute.compute-1`, `scheduler`, `compute (fanout)`, the caller a reply goes back to, or `versioned_notifications`. */
  readonly target: string;
  /** The RPC topic (`versioned_notifications` for notifications). */
  readonly topic: string;
  /** The RPC method, or the notification's event type; a reply carries its call's. */
  readonly method: string | null;
  /** The RPC API version asked for, or the notification payload's version. */
  readonly version: string | null;
  /** The instance the message is about (args.instance_uuid, or the payload's uuid). */
  readonly instance: string | null;
  /** The migration the message is about, for messages that name it by id (args.migration_id). */
  readonly migration: number | null;
  readonly request_id: string | null;
  /** A call's and its reply's message id; a cast's or notification's unique id. */
  readonly msg_id: string | null;
  /** Replies whose call the tap saw: milliseconds from call to reply. */
  readonly latency_ms: number | null;
  /** Error replies and error notifications: what failed. */
  readonly failure: BusFailure | null;
}

const MALFORMED = 'MalformedMessage';

/** The event tapped describes; a body that cannot be read becomes an event whose failure says so. */
export function describeTapped(tapped: TappedMessage): BusEvent {
  switch (tapped.route) {
    case 'rpc':
    case 'fanout':
      return describeRequest(tapped);
    case 'reply':
      return describeReply(tapped);
    case 'notification':
      return describeNotification(tapped);
  }
}

function blank(tapped: TappedMessage): Omit<BusEvent, 'kind' | 'target' | 'topic'> {
  return {
    time: new Date(Math.floor(tapped.at)).toISOString(),
    sender: tapped.sender ?? null,
    method: null, version: null, instance: null, migration: null, request_id: null,
    msg_id: tapped.msgId ?? null, latency_ms: null, failure: null,
  };
}

function describeRequest(tapped: TappedMessage): BusEvent {
  const fanout = tapped.route === 'fanout';
  const topic = fanout ? tapped.address : topicOf(tapped.address);
  const target = fanout ? `${topic} (fanout)` : tapped.address;
  const body = parsed(tapped.body);
  const msgId = tapped.msgId ?? text(body?._msg_id);
  const base = { ...blank(tapped), kind: msgId ? ('call' as const) : ('cast' as const), target, topic };
  if (!body || typeof body.method !== 'string') return { ...base, failure: { type: MALFORMED, message: 'not an RPC envelope' } };
  const args = record(body.args);
  const context = record(body.context);
  return {
    ...base,
    method: body.method,
    version: text(body.version),
    instance: text(args?.instance_uuid),
    migration: typeof args?.migration_id === 'number' ? args.migration_id : null,
    request_id: text(context?.request_id),
    msg_id: msgId ?? text(body._unique_id),
  };
}

function describeReply(tapped: TappedMessage): BusEvent {
  const body = parsed(tapped.body);
  const base = { ...blank(tapped), kind: 'reply' as const, target: tapped.address, topic: '' };
  if (!body) return { ...base, failure: { type: MALFORMED, message: 'reply is not a JSON object' } };
  const failure = record(body.failure);
  return failure ? { ...base, failure: { type: text(failure.type) ?? 'Error', message: text(failure.message) ?? '' } } : base;
}

function describeNotification(tapped: TappedMessage): BusEvent {
  const base = { ...blank(tapped), kind: 'notification' as const, target: NOTIFICATION_TOPIC, topic: NOTIFICATION_TOPIC };
  let n;
  try {
    n = decodeNotification(tapped.body);
  } catch (err) {
    return { ...base, failure: { type: MALFORMED, message: (err as Error).message } };
  }
  const data = n.payload['nova_object.data'];
  const isError = n.priority === 'ERROR' || n.event_type.endsWith('.error');
  return {
    ...base,
    sender: n.publisher_id,
    method: n.event_type,
    version: n.payload['nova_object.version'],
    instance: text(data.uuid) ?? text(data.instance_uuid),
    request_id: text(data.request_id),
    msg_id: n.message_id,
    failure: isError ? faultOf(data) : null,
  };
}

/** The fault an .error payload carries (Nova's ExceptionPayload), or a plain error when it carries none. */
function faultOf(data: Record<string, unknown>): BusFailure {
  const fault = record(record(data.fault)?.['nova_object.data']);
  return { type: text(fault?.exception) ?? 'error', message: text(fault?.exception_message) ?? '' };
}

/** `compute` of `compute.host-1`: topics hold no dot, so the first one splits topic from server. */
export function topicOf(address: string): string {
  const dot = address.indexOf('.');
  return dot < 0 ? address : address.slice(0, dot);
}

function parsed(body: string): Record<string, unknown> | undefined {
  try {
    return record(JSON.parse(body));
  } catch {
    return undefined;
  }
}

function record(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function text(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}
