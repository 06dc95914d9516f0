// Which bus events a tail shows: by topic, method (or event type), instance, host (sender's or target's) and request id.
import { isUuid } from '../../domain/uuid';
import type { BusEvent } from './bus-event';

export interface BusTailFilter {
  readonly topic?: string;
  readonly method?: string;
  readonly instance?: string;
  readonly host?: string;
  readonly request_id?: string;
}

export const FILTER_KEYS = ['topic', 'method', 'instance', 'host', 'request_id'] as const;


/** filter with its values checked; throws a TypeError naming the field that is wrong. */
export function checkTailFilter(filter: Record<string, unknown>): BusTailFilter {
  const out: Record<string, string> = {};
  for (const key of FILTER_KEYS) {
    const v = filter[key];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v.trim() === '') throw new TypeError(`${key} must be a non-empty string`);
    if (key === 'instance' && !isUuid(v)) throw new TypeError(`instance must be a UUID, got ${JSON.stringify(v)}`);
    out[key] = key === 'instance' ? v.toLowerCase() : v;
  }
  return out;
}

/** True when event passes every condition filter sets. */
export function matchesTailFilter(event: BusEvent, filter: BusTailFilter): boolean {
  if (filter.topic !== undefined && event.topic !== filter.topic) return false;
  if (filter.method !== undefined && event.method !== filter.method) return false;
  if (filter.instance !== undefined && event.instance?.toLowerCase() !== filter.instance) return false;
  if (filter.request_id !== undefined && event.request_id !== filter.request_id) return false;
  if (filter.host !== undefined && hostOf(event.sender) !== filter.host && hostOf(event.target) !== filter.host) return false;
  return true;
}

/** The host in `ferry-compute:compute-1` (a process or publisher) or `compute.compute-1` (a server's routing key). */
export function hostOf(name: string | null): string | undefined {
  if (name === null) return undefined;
  const colon = name.indexOf(':');
  if (colon >= 0) return name.slice(colon + 1);
  const dot = name.indexOf('.');
  return dot >= 0 && !name.includes(' ') ? name.slice(dot + 1) : undefined;
}
