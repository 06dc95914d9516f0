// Timestamps and ids exactly as Nova prints them, so clients parse Ferry's responses as they parse Nova's.
import { createHash } from 'node:crypto';

export { naiveTime, naiveTimeSql } from '../common/nova-time';

/** `created`/`updated`: second precision with a Z (Nova's utils.isotime). */
export function isoTime(d: Date): string {
  // toISOString() is always YYYY-MM-DDTHH:mm:ss.sssZ for years 0-9999: slicing beats a regex for each of a listing's rows.
  const s = d.toISOString();
  return s.length === 24 ? `${s.slice(0, 19)}Z` : s.replace(/\.\d{3}Z$/, 'Z');
}

/** isoTime written by Postgres, for a timestamptz SQL expression (seconds truncated, as a Date's are). */
export function isoTimeSql(expr: string): string {
  return `to_char((${expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`;
}

/** Host ids computed lately: a listing shows many servers of few (project, host) pairs. Bounded; cleared when full. */
const hostIds = new Map<string, string>();
const MAX_HOST_IDS = 10_000;

/** The obfuscated host id: sha224(project + host), '' without a host (Nova's generate_hostid). */
export function hostId(host: string | null | undefined, projectId: string | null | undefined): string {
  if (!host) return '';
  const key = `${projectId ?? ''}${host}`;
  let id = hostIds.get(key);
  if (id === undefined) {
    if (hostIds.size >= MAX_HOST_IDS) hostIds.clear();
    id = createHash('sha224').update(key).digest('hex');
    hostIds.set(key, id);
  }
  return id;
}
