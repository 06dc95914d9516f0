// oslo.messaging's notification wire format: the message as a JSON string inside {"oslo.version", "oslo.message"}.
import { MalformedMessage } from '../errors';
import type { NotificationMessage, NotificationPriority, NovaObject } from '../transport';

/** The envelope version oslo.messaging writes and every oslo consumer reads. */
export const OSLO_VERSION = '2.0';

const PRIORITIES: readonly NotificationPriority[] = ['INFO', 'ERROR'];
const TEXT_FIELDS = ['message_id', 'publisher_id', 'event_type', 'timestamp'] as const;

/** The AMQP body of message, as oslo's notifier serialises it. */
export function encodeNotification(message: NotificationMessage): Buffer {
  return Buffer.from(JSON.stringify({ 'oslo.version': OSLO_VERSION, 'oslo.message': JSON.stringify(message) }));
}

/** The notification in an AMQP body, or a MalformedMessage saying why it is not one. */
export function decodeNotification(content: Buffer | string): NotificationMessage {
  const outer = parseJson(typeof content === 'string' ? content : content.toString('utf8'), 'notification is not JSON');
  // Like oslo's deserialize_msg: a body without the envelope is the message itself (oslo 1.0 publishers).
  const raw = isRecord(outer) && 'oslo.version' in outer ? unwrap(outer) : outer;
  return checkNotification(raw);
}

function unwrap(envelope: Record<string, unknown>): unknown {
  const inner = envelope['oslo.message'];
  if (typeof inner !== 'string') throw new MalformedMessage('oslo envelope has no oslo.message string');
  return parseJson(inner, 'oslo.message is not JSON');
}

function checkNotification(raw: unknown): NotificationMessage {
  if (!isRecord(raw)) throw new MalformedMessage('notification is not an object');
  for (const field of TEXT_FIELDS) {
    if (typeof raw[field] !== 'string') throw new MalformedMessage(`notification has no ${field}`);
  }
  // oslo writes priorities in upper case; accept any case, as its consumers do.
  const priority = typeof raw.priority === 'string' ? raw.priority.toUpperCase() : '';
  if (!isPriority(priority)) throw new MalformedMessage(`notification priority ${JSON.stringify(raw.priority)} is not INFO or ERROR`);
  return {
    message_id: raw.message_id as string,
    publisher_id: raw.publisher_id as string,
    event_type: raw.event_type as string,
    priority,
    timestamp: raw.timestamp as string,
    payload: checkPayload(raw.payload),
  };
}

function checkPayload(raw: unknown): NovaObject {
  if (!isRecord(raw)) throw new MalformedMessage('notification payload is not an object');
  const name = raw['nova_object.name'];
  const namespace = raw['nova_object.namespace'];
  const version = raw['nova_object.version'];
  const data = raw['nova_object.data'];
  if (typeof name !== 'string' || typeof namespace !== 'string' || typeof version !== 'string' || !isRecord(data)) {
    throw new MalformedMessage('notification payload is not a versioned object');
  }
  return { 'nova_object.name': name, 'nova_object.namespace': namespace, 'nova_object.version': version, 'nova_object.data': data };
}

function isPriority(value: string): value is NotificationPriority {
  return (PRIORITIES as readonly string[]).includes(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function parseJson(text: string, complaint: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new MalformedMessage(complaint);
  }
}
