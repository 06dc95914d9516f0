// limit/marker paging as Nova does it: a bad limit is a 400, an unknown marker a 400, a full page gets a "next" link.
import { BadRequest } from '@ferry/common/domain';

export const MAX_LIMIT = 1000;

export interface PageRequest {
  limit: number;
  marker?: string;
}

/** Reads `limit` (non-negative integer, capped at MAX_LIMIT) and `marker` from a query string. */
export function pageRequest(query: Record<string, unknown>): PageRequest {
  const rawLimit = single(query.limit, 'limit');
  let limit = MAX_LIMIT;
  if (rawLimit !== undefined) {
    if (!/^\d+$/.test(rawLimit)) throw new BadRequest(`Invalid input for query parameters limit. Value: ${rawLimit}. '${rawLimit}' does not match '^[0-9]*$'`);
    limit = Math.min(Number(rawLimit), MAX_LIMIT);
  }
  const marker = single(query.marker, 'marker');
  return { limit, ...(marker !== undefined ? { marker } : {}) };
}

/** A query parameter given once; repeated ones take the last value, as Nova does for scalars. */
export function single(v: unknown, _name: string): string | undefined {
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return v.length ? String(v[v.length - 1]) : undefined;
  return String(v);
}

/** Raises Nova's error for a marker that names nothing. */
export function markerNotFound(marker: string): BadRequest {
  return new BadRequest(`marker [${marker}] not found`);
}

/**
 * The `<collection>_links` entry for a page: a "next" link when the page is full (there may be more),
 * carrying the original query with marker set to the last item's id.
 */
export function nextLinks(baseUrl: string, path: string, query: Record<string, unknown>, page: PageRequest, items: { id: string | number }[]) {
  if (items.length === 0 || items.length < page.limit) return undefined;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (k === 'marker') continue;
    for (const one of Array.isArray(v) ? v : [v]) params.append(k, String(one));
  }
  params.set('marker', String(items[items.length - 1]!.id));
  return [{ rel: 'next', href: `${baseUrl}${path}?${params.toString()}` }];
}
