// Query-string and path rules shared by the admin resources (Nova's query schemas and strutils), as small pure functions.
import { BadRequest } from '@ferry/common/domain';

export type Query = Record<string, unknown>;

/** The last value of a query parameter given once or repeated (Nova reads scalars that way). */
export function lastValue(query: Query, name: string): string | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) return v.length ? String(v[v.length - 1]) : undefined;
  return String(v);
}

/** A closed query schema (Nova's additionalProperties: false): any parameter not in `allowed` is a 400. */
export function rejectUnknownParams(query: Query, allowed: readonly string[]): void {
  const unknown = Object.keys(query).filter((k) => !allowed.includes(k)).sort();
  if (unknown.length) {
    const list = unknown.map((k) => `'${k}'`).join(', ');
    throw new BadRequest(`Additional properties are not allowed (${list} ${unknown.length === 1 ? 'was' : 'were'} unexpected)`);
  }
}

/** Parameters Nova declares single-valued: repeating one is a 400. */
export function rejectRepeated(query: Query, names: readonly string[]): void {
  for (const name of names) {
    const v = query[name];
    if (Array.isArray(v) && v.length > 1) {
      const shown = `[${v.map((x) => `'${String(x)}'`).join(', ')}]`;
      throw new BadRequest(`Invalid input for query parameters ${name}. Value: ${shown}. ${shown} is too long`);
    }
  }
}

const TRUE_STRINGS = ['1', 't', 'true', 'on', 'y', 'yes'];
const FALSE_STRINGS = ['0', 'f', 'false', 'off', 'n', 'no'];

/** strutils.bool_from_string(strict=True): a recognised spelling, else undefined. */
export function parseStrictBool(raw: string | boolean): boolean | undefined {
  if (typeof raw === 'boolean') return raw;
  const v = raw.trim().toLowerCase();
  if (TRUE_STRINGS.includes(v)) return true;
  if (FALSE_STRINGS.includes(v)) return false;
  return undefined;
}

/** strutils.bool_from_string (lenient): anything not a true spelling is false. */
export function parseLooseBool(raw: string | boolean): boolean {
  return parseStrictBool(raw) ?? false;
}

/** A boolean query parameter Nova validates with parameter_types.boolean: anything else is a 400. */
export function boolParam(query: Query, name: string): boolean | undefined {
  const raw = lastValue(query, name);
  if (raw === undefined) return undefined;
  const v = parseStrictBool(raw);
  if (v === undefined) {
    throw new BadRequest(`Invalid input for query parameters ${name}. Value: ${raw}. '${raw}' is not one of ['True', 'true', '1', 'False', 'false', '0', ...]`);
  }
  return v;
}

const UUID_LIKE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** uuidutils.is_uuid_like: hex digits in uuid grouping, dashes optional, any case. */
export function isUuidLike(v: string): boolean {
  return UUID_LIKE.test(v.replace(/^urn:uuid:/i, '').replace(/^\{(.*)\}$/, '$1'));
}

/** The canonical (lower-case, dashed) form of a uuid-like string. */
export function canonicalUuid(v: string): string {
  const hex = v.replace(/^urn:uuid:/i, '').replace(/[{}-]/g, '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A path id that must be an integer before 2.53 (utils.validate_integer), as a number; undefined when it is not one. */
export function integerId(raw: string): number | undefined {
  if (!/^\s*[+-]?\d+\s*$/.test(raw)) return undefined;
  const n = Number(raw.trim());
  return Number.isSafeInteger(n) && n <= 0x7fffffff && n >= -0x80000000 ? n : undefined;
}
