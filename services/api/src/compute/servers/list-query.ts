// Runs a server listing: filters, sort keys and marker paging in one SQL statement.
import type { DataSource } from 'typeorm';
import { BadRequest, vmStatesForApiStatus } from '@ferry/common/domain';
import { markerNotFound } from '../common/paging';
import { ATTR_KEYS } from './attrs';
import type { ListQuery } from './filters';
import { isUuid } from '@ferry/common/domain';
import { isoTimeSql } from './format';
import { SERVER_RECORD_COLUMNS, type ServerRecord } from './server-record';
import { SORT_KEYS } from './sort-keys';
import { FAULT_STATUSES, type ServerFault } from './views';

class Sql {
  readonly params: unknown[] = [];
  readonly where: string[] = [];
  /** A client's regular expression is in the query: it can be made as costly as the client likes. */
  matchesRegex = false;
  p(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }
}

/**
 * A listed server as its views read it, with the zone of its host (a placed server is in its host's zone) and, when
 * its status shows one, its latest fault.
 */
export type ListedServer = ServerRecord & { host_zone: string | null; fault: ServerFault | null };

/** vm_states whose status can show a fault; the view decides from the status (a soft-deleted row shows one too). */
const FAULT_VM_STATES = vmStatesForApiStatus([...FAULT_STATUSES]).vmStates.map((s) => `'${s}'`).join(', ');

/**
 * The latest fault of a listed server whose status can show one: a subquery only such rows run (CASE evaluates it
 * for them alone), so a listing of healthy servers pays nothing for it.
 */
const LATEST_FAULT = `CASE WHEN i.deleted_at IS NOT NULL OR i.vm_state IN (${FAULT_VM_STATES}) THEN (
    SELECT json_build_object('code', f.code, 'created', ${isoTimeSql('f.created_at')}, 'message', f.message, 'details', f.details)
      FROM instance_faults f
     WHERE f.instance_uuid = i.uuid
     ORDER BY f.created_at DESC, f.id DESC
     LIMIT 1
  ) END`;

/**
 * The listing's columns: exactly what the views show, times already formatted, each host's zone and each failed
 * server's latest fault, so views need no second query.
 */
const LISTED = `${SERVER_RECORD_COLUMNS}, cn.availability_zone AS host_zone, ${LATEST_FAULT} AS fault`;
const JOINED = 'LEFT JOIN compute_nodes cn ON cn.host = i.host';

const meta = (key: string) => `coalesce(i.system_metadata->>'${key}', '')`;

/** Filters matched as regular expressions (Postgres `~`), by parameter name. */
const REGEX_COLUMNS: Record<string, string> = {
  name: 'i.display_name', display_name: 'i.display_name', node: "coalesce(i.node, '')", locked_by: "coalesce(i.locked_by, '')",
  reservation_id: meta(ATTR_KEYS.reservationId), key_name: meta(ATTR_KEYS.keyName), availability_zone: meta(ATTR_KEYS.requestedAz),
  description: meta(ATTR_KEYS.description), display_description: meta(ATTR_KEYS.description), hostname: meta(ATTR_KEYS.hostname),
  config_drive: meta(ATTR_KEYS.configDrive), access_ip_v4: meta(ATTR_KEYS.accessIpV4), access_ip_v6: meta(ATTR_KEYS.accessIpV6),
  power_state: 'i.power_state::text', progress: 'i.progress::text',
};
/** Filters matched exactly. */
const EXACT_COLUMNS: Record<string, string> = {
  image: 'i.image_ref', image_ref: 'i.image_ref', user_id: 'i.user_id', project_id: 'i.project_id', tenant_id: 'i.project_id', host: 'i.host',
  uuid: 'i.uuid::text', vm_state: 'i.vm_state', task_state: 'i.task_state', flavor: "(i.flavor->>'flavorid')", launch_index: meta(ATTR_KEYS.launchIndex),
  locked: 'i.locked::text',
};
const TAGS = `coalesce((i.system_metadata->>'${ATTR_KEYS.tags}')::jsonb, '[]'::jsonb)`;

function tagList(raw: string): string[] {
  return raw.split(',').map((t) => t.trim()).filter(Boolean);
}

function addFilters(sql: Sql, q: ListQuery): void {
  if (q.projectId !== null) sql.where.push(`i.project_id = ${sql.p(q.projectId)}`);
  if (q.deleted === true) sql.where.push('i.deleted_at IS NOT NULL');
  if (q.deleted === false) sql.where.push('i.deleted_at IS NULL');
  if (q.changesSince) sql.where.push(`i.updated_at >= ${sql.p(q.changesSince)}`);
  if (q.changesBefore) sql.where.push(`i.updated_at <= ${sql.p(q.changesBefore)}`);
  if (q.status) {
    sql.where.push(`i.vm_state = ANY(${sql.p(q.status.vmStates)})`);
    if (q.status.taskStates) sql.where.push(`i.task_state = ANY(${sql.p(q.status.taskStates)})`);
  }
  for (const [name, value] of q.filters) {
    if (REGEX_COLUMNS[name]) {
      sql.where.push(`${REGEX_COLUMNS[name]} ~ ${sql.p(value)}`);
      sql.matchesRegex = true;
    } else if (EXACT_COLUMNS[name]) sql.where.push(`${EXACT_COLUMNS[name]} = ${sql.p(value)}`);
    else if (name === 'ip' || name === 'ip6') sql.where.push('FALSE'); // Ferry assigns no addresses
    else if (name === 'tags') sql.where.push(`${TAGS} @> ${sql.p(JSON.stringify(tagList(value)))}::jsonb`);
    else if (name === 'not-tags') sql.where.push(`NOT (${TAGS} @> ${sql.p(JSON.stringify(tagList(value)))}::jsonb)`);
    else if (name === 'tags-any') sql.where.push(`${TAGS} ?| ${sql.p(tagList(value))}::text[]`);
    else if (name === 'not-tags-any') sql.where.push(`NOT (${TAGS} ?| ${sql.p(tagList(value))}::text[])`);
  }
}

function orderBy(q: ListQuery): string {
  return q.sort.map((s) => `${SORT_KEYS[s.key]} ${s.dir.toUpperCase()}`).join(', ');
}

/** Postgres errors that a client's filter caused, as the 400 they deserve. */
function badFilter(err: unknown, timeoutMs: number): BadRequest | undefined {
  const e = err as { code?: string; driverError?: { code?: string } };
  const code = e.code ?? e.driverError?.code;
  if (code === '2201B') return new BadRequest('Invalid input for query parameters: invalid regular expression');
  if (code === '57014') return new BadRequest(`The server listing took longer than ${timeoutMs} ms; narrow the filters or lower the limit.`);
  return undefined;
}

/**
 * The page of servers q asks for (records for the views; the caller builds them). A query with a client's
 * regular expression runs under a statement timeout (in a transaction of its own, for SET LOCAL); any other is an
 * index lookup or one scan and sort of the table, and runs as one statement.
 */
export async function listInstances(ds: DataSource, q: ListQuery, timeoutMs: number): Promise<ListedServer[]> {
  if (q.empty || q.page.limit === 0) return [];
  const sql = new Sql();
  if (q.page.marker !== undefined) {
    const scope = q.projectId === null ? [] : [q.projectId];
    const found = isUuid(q.page.marker)
      ? await ds.query(`SELECT 1 FROM instances WHERE uuid = $1 ${scope.length ? 'AND project_id = $2' : ''}`, [q.page.marker, ...scope])
      : [];
    if (found.length === 0) throw markerNotFound(q.page.marker);
  }
  addFilters(sql, q);
  const filter = sql.where.length ? sql.where.join(' AND ') : 'TRUE';
  const marker = q.page.marker !== undefined ? sql.p(q.page.marker) : undefined;
  const limit = sql.p(q.page.limit);
  // Without a marker a plain ORDER BY … LIMIT does; with one, row numbers over the sort find the marker's place
  // (any mix of keys, directions and NULLs), and the rows come back as stored, with no helper columns to strip.
  const text = marker === undefined
    ? `SELECT ${LISTED} FROM instances i ${JOINED} WHERE ${filter} ORDER BY ${orderBy(q)} LIMIT ${limit}`
    : `
    WITH ordered AS (
      SELECT i.uuid, row_number() OVER (ORDER BY ${orderBy(q)}) AS _rn, (${filter}) AS _match
        FROM instances i
       WHERE (${filter}) OR i.uuid = ${marker}::uuid
    )
    SELECT ${LISTED} FROM ordered o JOIN instances i ON i.uuid = o.uuid ${JOINED}
     WHERE o._match AND o._rn > (SELECT _rn FROM ordered WHERE uuid = ${marker}::uuid)
     ORDER BY o._rn
     LIMIT ${limit}`;
  try {
    if (!sql.matchesRegex) return (await ds.query(text, sql.params)) as ListedServer[];
    return await ds.transaction(async (m) => {
      await m.query(`SET LOCAL statement_timeout = ${Math.floor(timeoutMs)}`);
      return m.query(text, sql.params) as Promise<ListedServer[]>;
    });
  } catch (err) {
    throw badFilter(err, timeoutMs) ?? err;
  }
}
