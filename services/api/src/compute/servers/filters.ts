// GET /servers[/detail] query parameters as Nova reads them: which a caller may use at which microversion,
// what they mean, and the 400s and 403s for the ones that are wrong.
import { BadRequest, Forbidden, InvalidInput, vmStatesForApiStatus } from '@ferry/common/domain';
import type { ApiContext } from '../../http/api-context';
import { versionIn, type ApiVersion } from '../../http/microversion';
import { requireAdmin } from '../../http/policy';
import { pageRequest, single, type PageRequest } from '../common/paging';
import { SORT_KEYS, sortKeysFor, type SortKey } from './sort-keys';

export type Query = Record<string, string | string[] | undefined>;

/** Parameters whose value is a regular expression. */
export const REGEX_PARAMS = new Set([
  'kernel_id', 'ramdisk_id', 'hostname', 'key_name', 'power_state', 'node', 'flavor', 'reservation_id', 'launched_at', 'terminated_at',
  'availability_zone', 'name', 'display_name', 'description', 'display_description', 'locked_by', 'root_device_name', 'config_drive',
  'access_ip_v4', 'access_ip_v6', 'auto_disk_config', 'progress', 'ip', 'ip6', 'created_at', 'tags', 'tags-any', 'not-tags', 'not-tags-any',
]);
const PLAIN_PARAMS = [
  'user_id', 'project_id', 'tenant_id', 'launch_index', 'image_ref', 'image', 'vm_state', 'task_state', 'host', 'uuid', 'sort_key', 'sort_dir',
  'all_tenants', 'soft_deleted', 'deleted', 'status', 'changes-since', 'limit', 'marker',
];
/** Joined-table columns Nova refuses to filter on. */
const JOINED_TABLE_PARAMS = ['block_device_mapping', 'services', 'metadata', 'system_metadata', 'info_cache', 'security_groups', 'pci_devices'];
const TAG_PARAMS = ['tags', 'tags-any', 'not-tags', 'not-tags-any'];

function knownParams(v: ApiVersion): Set<string> {
  const known = new Set([...REGEX_PARAMS, ...PLAIN_PARAMS, ...JOINED_TABLE_PARAMS]);
  if (!versionIn(v, '2.26')) for (const t of TAG_PARAMS) known.delete(t);
  if (versionIn(v, '2.66')) known.add('changes-before');
  if (versionIn(v, '2.73')) known.add('locked');
  return known;
}

/** What a non-admin may filter on (Nova's _get_server_search_options); anything else is silently dropped. */
function userParams(v: ApiVersion): Set<string> {
  const opts = ['reservation_id', 'name', 'status', 'image', 'flavor', 'ip', 'changes-since', 'all_tenants'];
  if (versionIn(v, '2.5')) opts.push('ip6');
  if (versionIn(v, '2.26')) opts.push(...TAG_PARAMS);
  if (versionIn(v, '2.66')) opts.push('changes-before');
  if (versionIn(v, '2.73')) opts.push('locked');
  return new Set(opts);
}

const BOOL_TRUE = ['1', 't', 'true', 'on', 'y', 'yes'];
const BOOL_FALSE = ['0', 'f', 'false', 'off', 'n', 'no'];

/** oslo's strict bool_from_string; `empty` is what an empty value means. */
export function strictBool(raw: string, empty?: boolean): boolean {
  const v = raw.trim().toLowerCase();
  if (v === '' && empty !== undefined) return empty;
  if (BOOL_TRUE.includes(v)) return true;
  if (BOOL_FALSE.includes(v)) return false;
  const acceptable = [...BOOL_FALSE, ...BOOL_TRUE].sort().map((s) => `'${s}'`).join(', ');
  throw new InvalidInput(`Invalid input received: Unrecognized value '${raw}', acceptable values are: ${acceptable}`);
}

function invalidParam(name: string, value: string, kind: string): BadRequest {
  return new BadRequest(`Invalid input for query parameters ${name}. Value: ${value}. '${value}' is not a '${kind}'`);
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** An ISO 8601 time as Nova's parse_isotime reads it (no zone means UTC). */
export function parseIsoTime(name: string, raw: string): Date {
  if (!ISO_DATE_TIME.test(raw)) throw invalidParam(name, raw, 'date-time');
  const hasZone = /(?:Z|[+-]\d{2}(?::?\d{2})?)$/i.test(raw) && raw.length > 10;
  const d = new Date(hasZone ? raw.replace(' ', 'T') : `${raw.replace(' ', 'T')}${raw.length === 10 ? 'T00:00:00' : ''}Z`);
  if (Number.isNaN(d.getTime())) throw invalidParam(name, raw, 'date-time');
  return d;
}

export interface ListQuery {
  /** Filters beyond scope and deletion, by parameter name (last value of each). */
  filters: Map<string, string>;
  /** vm_state/task_state from `status`; taskStates null means any. */
  status?: { vmStates: string[]; taskStates: string[] | null };
  /** Project scope: one project, or every project (admin with all_tenants). */
  projectId: string | null;
  /** true: only deleted; false: only live; null: both (changes-since/before). */
  deleted: boolean | null;
  changesSince?: Date;
  changesBefore?: Date;
  sort: { key: SortKey; dir: 'asc' | 'desc' }[];
  page: PageRequest;
  /** The answer is known to be empty (a status that matches nothing, before 2.38). */
  empty: boolean;
}

/** Longest regular-expression filter accepted: Nova's limit on the names it matches. */
export const MAX_REGEX_FILTER_LENGTH = 255;

function checkValues(query: Query, v: ApiVersion): void {
  const known = knownParams(v);
  for (const [name, raw] of Object.entries(query)) {
    if (versionIn(v, '2.75') && !known.has(name) && !name.startsWith('_')) throw new BadRequest(`Additional properties are not allowed ('${name}' was unexpected)`);
    const values = Array.isArray(raw) ? raw : [raw ?? ''];
    for (const value of values) {
      if (REGEX_PARAMS.has(name) && known.has(name)) {
        if (value.length > MAX_REGEX_FILTER_LENGTH) {
          throw new BadRequest(`Invalid input for query parameters ${name}. Value: ${value.slice(0, 40)}…. Longer than ${MAX_REGEX_FILTER_LENGTH} characters.`);
        }
        try {
          new RegExp(value);
        } catch {
          throw invalidParam(name, value, 'regex');
        }
      }
      if ((name === 'changes-since' || name === 'changes-before') && known.has(name)) parseIsoTime(name, value);
    }
  }
}

function parseSort(query: Query, ctx: ApiContext, v: ApiVersion): ListQuery['sort'] {
  const keys = [query.sort_key ?? []].flat().map((k) => k.trim());
  const dirs = [query.sort_dir ?? []].flat().map((d) => d.trim());
  const { valid, ignored } = sortKeysFor(v);
  for (const key of keys) if (!valid.has(key)) throw new BadRequest(`Invalid input for query parameters sort_key. Value: ${key}. '${key}' is not one of the valid sort keys`);
  for (const dir of dirs) if (dir !== 'asc' && dir !== 'desc') throw new InvalidInput("Invalid input received: Unknown sort direction, must be 'desc' or 'asc'");
  if (keys.length === 0) keys.push('created_at');
  const defaultDir = (dirs[0] ?? 'desc') as 'asc' | 'desc';
  if (dirs.length > keys.length) throw new InvalidInput('Invalid input received: Sort direction size exceeds sort key size');
  const sort: ListQuery['sort'] = [];
  keys.forEach((key, i) => {
    if (ignored.has(key)) return;
    if ((key === 'host' || key === 'node') && !ctx.is_admin) throw new Forbidden(`Only administrators can sort servers by ${key}`);
    sort.push({ key: key as SortKey, dir: (dirs[i] ?? defaultDir) as 'asc' | 'desc' });
  });
  for (const tiebreak of ['created_at', 'uuid'] as const) if (!sort.some((s) => s.key === tiebreak)) sort.push({ key: tiebreak, dir: defaultDir });
  return sort;
}

export function parseListQuery(query: Query, ctx: ApiContext, v: ApiVersion, detail: boolean): ListQuery {
  checkValues(query, v);
  const page = pageRequest(query);
  const sort = parseSort(query, ctx, v);
  const allowed = userParams(v);
  const opts = new Map<string, string>();
  for (const [name, raw] of Object.entries(query)) {
    if (['limit', 'marker', 'sort_key', 'sort_dir'].includes(name)) continue;
    if (!ctx.is_admin && !allowed.has(name)) continue;
    opts.set(name, single(raw, name) ?? '');
  }
  for (const name of opts.keys()) {
    if (JOINED_TABLE_PARAMS.includes(name) || name.startsWith('_')) throw new BadRequest(`Invalid filter field: ${name}.`);
  }
  const out: ListQuery = { filters: opts, projectId: ctx.project_id, deleted: false, sort, page, empty: false };

  if (opts.has('status')) {
    opts.delete('status');
    const { vmStates, taskStates } = vmStatesForApiStatus([query.status ?? []].flat());
    if (vmStates.length === 0) {
      if (versionIn(v, '2.38')) throw new BadRequest('Invalid status value');
      out.empty = true;
    }
    out.status = { vmStates, taskStates };
  }
  if (opts.has('changes-since')) out.changesSince = parseIsoTime('changes-since', opts.get('changes-since')!);
  if (opts.has('changes-before') && versionIn(v, '2.66')) out.changesBefore = parseIsoTime('changes-before', opts.get('changes-before')!);
  if (out.changesSince && out.changesBefore && out.changesBefore < out.changesSince) {
    throw new BadRequest('The value of changes-since must be less than or equal to changes-before.');
  }
  if (opts.has('deleted')) out.deleted = strictBoolOr(opts.get('deleted')!, false);
  else if (out.changesSince || out.changesBefore) out.deleted = null;
  if (out.status && out.status.vmStates.length === 1 && out.status.vmStates[0] === 'deleted') {
    if (!ctx.is_admin) throw new Forbidden('Only administrators may list deleted instances');
    out.deleted = true;
  }
  if (opts.has('locked')) out.filters.set('locked', String(strictBool(opts.get('locked')!)));
  const allTenants = opts.has('all_tenants') && strictBool(opts.get('all_tenants')!, true);
  if (allTenants) {
    requireAdmin(ctx, `os_compute_api:servers:${detail ? 'detail' : 'index'}:get_all_tenants`);
    out.projectId = null;
  } else {
    opts.delete('tenant_id');
    opts.delete('project_id');
  }
  for (const name of ['all_tenants', 'deleted', 'changes-since', 'changes-before', 'soft_deleted']) opts.delete(name);
  return out;
}

/** Nova turns an unreadable `deleted` into "not deleted" rather than a 400. */
function strictBoolOr(raw: string, fallback: boolean): boolean {
  try {
    return strictBool(raw);
  } catch {
    return fallback;
  }
}

export { SORT_KEYS };
