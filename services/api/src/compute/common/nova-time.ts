// Timestamps as Nova writes and reads them: naive UTC with microseconds out, ISO 8601 (any offset) in.
import { BadRequest } from '@ferry/common/domain';

/** How Nova serialises a datetime field (services, availability zones, migrations): naive UTC, microseconds. */
export function naiveTime(d: Date | null | undefined): string | null {
  if (!d) return null;
  // toISOString() is always YYYY-MM-DDTHH:mm:ss.sssZ for years 0-9999: slicing beats regexes for each row of a listing.
  const s = d.toISOString();
  return s.length === 24 ? `${s.slice(0, 23)}000` : s.replace(/Z$/, '').replace(/\.(\d{3})$/, '.$1000');
}

/**
 * naiveTime written by Postgres, for a timestamptz SQL expression: the same text, for every instant a JS Date holds
 * (to_char's MS truncates the microseconds as pg's Date parsing does), without a Date per value in the listing.
 */
export function naiveTimeSql(expr: string): string {
  return `to_char((${expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"000"')`;
}

/** A parsed ISO 8601 instant, exact to the microsecond (a JS Date keeps only milliseconds). */
export interface Instant {
  /** Microseconds since the epoch, for comparing two instants. */
  micros: bigint;
  /** UTC, six fractional digits: what SQL compares against timestamptz columns. */
  iso: string;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** timeutils.parse_isotime: a date or date-time, naive meaning UTC; undefined when it is not one. */
export function parseIsoTime(raw: string): Instant | undefined {
  const m = ISO.exec(raw.trim());
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((x) => Number(x ?? 0)) as [number, number, number, number, number, number];
  const fraction = BigInt(((m[7] ?? '') + '000000').slice(0, 6));
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  if (new Date(ms).getUTCDate() !== day) return undefined;
  const micros = BigInt(ms) * 1000n + fraction - BigInt(offsetMinutes(m[8]) * 60) * 1_000_000n;
  return { micros, iso: isoFromMicros(micros) };
}

/** parseIsoTime for a query parameter, as a 400 naming it when malformed (Nova's date-time format check). */
export function timeParam(name: string, raw: string): Instant {
  const t = parseIsoTime(raw);
  if (!t) throw new BadRequest(`Invalid input for query parameters ${name}. Value: ${raw}. '${raw}' is not a 'date-time'`);
  return t;
}

function offsetMinutes(zone: string | undefined): number {
  if (!zone || zone.toUpperCase() === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0));
}

function isoFromMicros(micros: bigint): string {
  const ms = micros / 1000n;
  const rest = micros % 1000n;
  const base = new Date(Number(ms)).toISOString().replace(/Z$/, '');
  return `${base}${rest.toString().padStart(3, '0')}Z`;
}
