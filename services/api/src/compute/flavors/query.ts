// The flavor list query: is_public (admins only), minRam, minDisk, sort_key/sort_dir and limit/marker;
// unknown parameters are ignored before 2.75 and a 400 from 2.75, as in Nova.
import { BadRequest } from '@ferry/common/domain';
import type { ApiContext } from '../../http/api-context';
import { versionIn, type ApiVersion } from '../../http/microversion';
import { pageRequest } from '../common/paging';
import { lastValue, parseStrictBool, rejectUnknownParams, type Query } from '../common/request-params';
import { SORT_KEYS, type FlavorListQuery, type SortKey } from './repo';

const PARAMS = ['limit', 'marker', 'is_public', 'minRam', 'minDisk', 'sort_key', 'sort_dir'];

function values(query: Query, name: string): string[] {
  const v = query[name];
  return v === undefined ? [] : (Array.isArray(v) ? v : [v]).map(String);
}

function enumParam<T extends string>(query: Query, name: string, allowed: readonly T[], fallback: T): T {
  for (const value of values(query, name)) {
    if (!(allowed as readonly string[]).includes(value)) {
      throw new BadRequest(`Invalid input for query parameters ${name}. Value: ${value}. '${value}' is not one of [${allowed.map((a) => `'${a}'`).join(', ')}]`);
    }
  }
  return (lastValue(query, name) as T | undefined) || fallback;
}

/** Python's int() of a query value (surrounding spaces and a sign allowed), else Nova's 400. */
function minFilter(query: Query, name: 'minRam' | 'minDisk'): number | undefined {
  const raw = lastValue(query, name);
  if (raw === undefined) return undefined;
  if (!/^\s*[+-]?\d+\s*$/.test(raw)) throw new BadRequest(`Invalid ${name} filter [${raw}]`);
  return Number(raw.trim());
}

/** Admins choose with is_public (absent: public only; "none": all); everyone else sees enabled public flavors. */
function isPublicFilter(query: Query, ctx: ApiContext): boolean | null {
  if (!ctx.is_admin) return true;
  const raw = lastValue(query, 'is_public');
  if (raw === undefined) return true;
  if (raw.trim().toLowerCase() === 'none') return null;
  const v = parseStrictBool(raw);
  if (v === undefined) throw new BadRequest(`Invalid is_public filter [${raw}]`);
  return v;
}

export function readFlavorListQuery(query: Query, v: ApiVersion, ctx: ApiContext): FlavorListQuery {
  if (versionIn(v, '2.75')) rejectUnknownParams(query, PARAMS);
  const page = pageRequest(query);
  const minRam = minFilter(query, 'minRam');
  const minDisk = minFilter(query, 'minDisk');
  return {
    isPublic: isPublicFilter(query, ctx),
    enabledOnly: !ctx.is_admin,
    callerPublicOnly: !ctx.is_admin,
    sortKey: enumParam<SortKey>(query, 'sort_key', SORT_KEYS, 'flavorid'),
    sortDir: enumParam(query, 'sort_dir', ['asc', 'desc'] as const, 'asc'),
    limit: page.limit,
    ...(page.marker !== undefined ? { marker: page.marker } : {}),
    ...(minRam !== undefined ? { minRam } : {}),
    ...(minDisk !== undefined ? { minDisk } : {}),
  };
}
