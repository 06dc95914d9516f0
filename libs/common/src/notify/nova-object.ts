// Nova's versioned-object primitive: how a notification payload, and every object nested in it, travels.
import type { NovaObject } from '../rpc/transport';

export const NOVA_NAMESPACE = 'nova';

export function novaObject(name: string, version: string, data: Record<string, unknown>): NovaObject {
  return { 'nova_object.name': name, 'nova_object.namespace': NOVA_NAMESPACE, 'nova_object.version': version, 'nova_object.data': data };
}

export function isNovaObject(value: unknown): value is NovaObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const data = (value as Record<string, unknown>)['nova_object.data'];
  return typeof (value as Record<string, unknown>)['nova_object.name'] === 'string' && data !== null && typeof data === 'object';
}

/** A copy of obj with fields set or replaced in its data; obj itself is left alone. */
export function withData(obj: NovaObject, fields: Record<string, unknown>): NovaObject {
  return { ...obj, 'nova_object.data': { ...obj['nova_object.data'], ...fields } };
}

/**
 * value with every versioned object replaced by its data, all the way down: what a reader of a payload
 * usually wants (`unwrapNovaObject(payload).flavor.name` rather than four levels of `nova_object.data`).
 */
export function unwrapNovaObject(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrapNovaObject);
  if (value === null || typeof value !== 'object') return value;
  const fields = isNovaObject(value) ? value['nova_object.data'] : (value as Record<string, unknown>);
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, unwrapNovaObject(v)]));
}
