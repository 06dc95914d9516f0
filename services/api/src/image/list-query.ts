// GET /v2/images query, read as Glance reads it: filters (name, status, visibility, owner, protected,
// os_hidden, size_min/size_max, tag, any other key as a custom property), sorting and limit/marker.
import { BadRequest } from '@ferry/common/domain';

/** Glance's default page size and the most it returns at once. */
export const DEFAULT_LIMIT = 25;
export const MAX_LIMIT = 1000;

export const SORT_KEYS = ['name', 'status', 'container_format', 'disk_format', 'size', 'virtual_size', 'id', 'created_at', 'updated_at',
  'visibility', 'owner', 'min_disk', 'min_ram', 'protected'] as const;
export type ImageSortKey = (typeof SORT_KEYS)[number];
export type SortDir = 'asc' | 'desc';

const VISIBILITIES = ['public', 'private', 'shared', 'community', 'all'] as const;
const MEMBER_STATUSES = ['accepted', 'pending', 'rejected', 'all'];
/** Parameters with a meaning of their own; any other key filters on a custom property. */
const RESERVED = ['limit', 'marker', 'sort', 'sort_key', 'sort_dir', 'visibility', 'member_status', 'name', 'status', 'owner', 'id',
  'protected', 'os_hidden', 'size_min', 'size_max', 'tag', 'checksum', 'disk_format', 'container_format'];
const EXACT = ['name', 'status', 'owner', 'id', 'checksum', 'disk_format', 'container_format'] as const;

export interface ImageListQuery {
  limit: number;
  marker?: string;
  sort: { key: ImageSortKey; dir: SortDir }[];
  visibility?: (typeof VISIBILITIES)[number];
  exact: Partial<Record<(typeof EXACT)[number], string>>;
  protected?: boolean;
  hidden: boolean;
  sizeMin?: number;
  sizeMax?: number;
  tags: string[];
  properties: Record<string, string>;
}

type Query = Record<string, unknown>;

function all(query: Query, name: string): string[] {
  const v = query[name];
  return v === undefined ? [] : (Array.isArray(v) ? v : [v]).map(String);
}

function last(query: Query, name: string): string | undefined {
  const values = all(query, name);
  return values[values.length - 1];
}

function boolFilter(name: string, raw: string | undefined): boolean | undefined {
  if (raw === undefined) return undefined;
  if (/^true$/i.test(raw)) return true;
  if (/^false$/i.test(raw)) return false;
  throw new BadRequest(`Invalid value '${raw}' for '${name}' filter. Valid values are 'true' or 'false'.`);
}

function intFilter(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) throw new BadRequest(`Unable to filter on a range with a non-numeric value: ${name}=${raw}.`);
  return Number(raw);
}

function readLimit(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_LIMIT;
  if (!/^-?\d+$/.test(raw)) throw new BadRequest('limit param must be an integer');
  const n = Number(raw);
  if (n < 0) throw new BadRequest('limit param must be positive');
  return Math.min(n, MAX_LIMIT);
}

function sortKey(key: string): ImageSortKey {
  if (!(SORT_KEYS as readonly string[]).includes(key)) {
    throw new BadRequest(`Invalid sort key: ${key}. It should be one of the following: ${SORT_KEYS.join(', ')}.`);
  }
  return key as ImageSortKey;
}

function sortDir(dir: string): SortDir {
  if (dir !== 'asc' && dir !== 'desc') throw new BadRequest(`Invalid sort direction: ${dir}`);
  return dir;
}

/** `sort=name:asc,size` or `sort_key=…&sort_dir=…` (not both); newest first by default, ties broken by id. */
function readSort(query: Query): ImageListQuery['sort'] {
  const sortParam = last(query, 'sort');
  const keys = all(query, 'sort_key');
  const dirs = all(query, 'sort_dir');
  if (sortParam !== undefined && (keys.length || dirs.length)) {
    throw new BadRequest('The "sort" parameter cannot be combined with "sort_key" or "sort_dir".');
  }
  let sort: ImageListQuery['sort'];
  if (sortParam !== undefined) {
    sort = sortParam.split(',').map((part) => {
      const [key, dir] = part.trim().split(':');
      return { key: sortKey(key ?? ''), dir: dir === undefined ? 'desc' : sortDir(dir) };
    });
  } else {
    if (dirs.length > 1 && dirs.length !== keys.length) throw new BadRequest('Number of sort dirs does not match the number of sort keys');
    sort = (keys.length ? keys : ['created_at']).map((k, i) => ({ key: sortKey(k), dir: sortDir(dirs[i] ?? dirs[0] ?? 'desc') }));
  }
  if (!sort.some((s) => s.key === 'id')) sort.push({ key: 'id', dir: sort[sort.length - 1]!.dir });
  return sort;
}

export function readImageListQuery(query: Query): ImageListQuery {
  const visibility = last(query, 'visibility');
  if (visibility !== undefined && !(VISIBILITIES as readonly string[]).includes(visibility)) {
    throw new BadRequest(`Invalid visibility value: ${visibility}`);
  }
  const memberStatus = last(query, 'member_status');
  if (memberStatus !== undefined && !MEMBER_STATUSES.includes(memberStatus)) {
    throw new BadRequest(`Invalid status value: ${memberStatus}`);
  }
  const exact: ImageListQuery['exact'] = {};
  for (const name of EXACT) {
    const v = last(query, name);
    if (v !== undefined) exact[name] = v;
  }
  const properties = Object.fromEntries(
    Object.keys(query).filter((k) => !RESERVED.includes(k)).map((k) => [k, last(query, k)!]),
  );
  const marker = last(query, 'marker');
  const prot = boolFilter('protected', last(query, 'protected'));
  const sizeMin = intFilter('size_min', last(query, 'size_min'));
  const sizeMax = intFilter('size_max', last(query, 'size_max'));
  return {
    limit: readLimit(last(query, 'limit')),
    sort: readSort(query),
    exact,
    hidden: boolFilter('os_hidden', last(query, 'os_hidden')) ?? false,
    tags: all(query, 'tag'),
    properties,
    ...(marker !== undefined ? { marker } : {}),
    ...(visibility !== undefined ? { visibility: visibility as ImageListQuery['visibility'] } : {}),
    ...(prot !== undefined ? { protected: prot } : {}),
    ...(sizeMin !== undefined ? { sizeMin } : {}),
    ...(sizeMax !== undefined ? { sizeMax } : {}),
  };
}
