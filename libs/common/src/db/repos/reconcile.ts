// What the reconciler reads: records left in one step longer than its deadline (a lost cast), each claimed in the
// statement that finds it (its updated_at touched), so two passes never re-drive the same record in one deadline;
// and the Postgres advisory lock that elects the one scheduler running a pass.
import type { DataSource, EntityManager } from 'typeorm';
import { allNonTerminalStatuses } from '../../domain';
import type { ActionRequester } from './instance-actions';

/** A kind of stuck record: its table, and what makes a row of it stuck (`t` is the row; `:open`, `:host`, `:tasks` are bound). */
export interface StuckQuery {
  table: 'instances' | 'migrations';
  where: string;
}

const OPEN_MOVE_OF_T = `EXISTS (SELECT 1 FROM migrations m WHERE m.instance_uuid = t.uuid AND m.deleted_at IS NULL AND m.status = ANY(:open))`;

export const STUCK_QUERIES = {
  /** A build the scheduler never placed. */
  build_scheduling: {
    table: 'instances', where: `t.deleted_at IS NULL AND t.vm_state = 'building' AND t.task_state = 'scheduling' AND t.host IS NULL`,
  },
  /** A build the scheduler placed on this host whose build_and_run_instance never arrived. */
  build_assigned: {
    table: 'instances', where: `t.deleted_at IS NULL AND t.vm_state = 'building' AND t.task_state = 'scheduling' AND t.host = :host`,
  },
  /** A build this host took (spawning) that no run finished: the process died, or the write that ends it failed. */
  build_spawning: {
    table: 'instances', where: `t.deleted_at IS NULL AND t.vm_state = 'building' AND t.task_state = 'spawning' AND t.host = :host`,
  },
  /** A cold move the API accepted whose migrate_server never produced a record. */
  move_prep: {
    table: 'instances', where: `t.deleted_at IS NULL AND t.task_state = 'resize_prep' AND t.host IS NOT NULL AND NOT ${OPEN_MOVE_OF_T}`,
  },
  /**
   * A live migration the API accepted (task `migrating`) that never got its record: the API died between the two.
   * Nothing left the source and no host was claimed, so the request is dropped. A live migration aborted while its
   * source was down (a `cancelled` record whose destination still holds the claim) is the source compute's
   * (live_cancelled): it frees that claim before it clears the task.
   */
  live_unrecorded: {
    table: 'instances',
    where: `t.deleted_at IS NULL AND t.task_state = 'migrating' AND t.host IS NOT NULL AND NOT ${OPEN_MOVE_OF_T}
      AND NOT EXISTS (SELECT 1 FROM migrations c JOIN allocations a ON a.consumer_uuid = c.instance_uuid AND a.host = c.dest_compute
        WHERE c.instance_uuid = t.uuid AND c.deleted_at IS NULL AND c.migration_type = 'live-migration' AND c.status = 'cancelled')`,
  },
  /** A live migration the scheduler never handed to a destination. */
  live_accepted: {
    table: 'migrations', where: `t.deleted_at IS NULL AND t.migration_type = 'live-migration' AND t.status = 'accepted'`,
  },
  /** A live migration checked and queued on its source, which never started it. */
  live_queued: {
    table: 'migrations', where: `t.deleted_at IS NULL AND t.migration_type = 'live-migration' AND t.status = 'queued' AND t.source_compute = :host`,
  },
  /** An instance on this host left in one of the given tasks (a power action, rescue or unrescue whose cast was lost). */
  host_task: {
    table: 'instances', where: `t.deleted_at IS NULL AND t.host = :host AND t.task_state = ANY(:tasks)`,
  },
  /** A live migration aborted (cancelled) while its source was down: the instance still waits in `migrating` there. */
  live_cancelled: {
    table: 'migrations',
    where: `t.deleted_at IS NULL AND t.migration_type = 'live-migration' AND t.status = 'cancelled' AND t.source_compute = :host
      AND EXISTS (SELECT 1 FROM instances i WHERE i.uuid = t.instance_uuid AND i.deleted_at IS NULL AND i.task_state = 'migrating' AND i.host = t.source_compute)
      AND NOT EXISTS (SELECT 1 FROM migrations o WHERE o.instance_uuid = t.instance_uuid AND o.deleted_at IS NULL AND o.status = ANY(:open))`,
  },
  /** An evacuation the scheduler never handed to a destination. */
  evacuation_accepted: {
    table: 'migrations', where: `t.deleted_at IS NULL AND t.migration_type = 'evacuation' AND t.status = 'accepted'`,
  },
  /** An evacuation this host took (pre-migrating) that no run finished: the process died, or a write failed. */
  evacuation_rebuilding: {
    table: 'migrations', where: `t.deleted_at IS NULL AND t.migration_type = 'evacuation' AND t.status = 'pre-migrating' AND t.dest_compute = :host`,
  },
  /** An evacuation away from this host that is done: the copy this host still holds (kept paused) is to be fenced. */
  evacuation_done: {
    table: 'migrations', where: `t.deleted_at IS NULL AND t.migration_type = 'evacuation' AND t.status = 'done' AND t.source_compute = :host`,
  },
} as const satisfies Record<string, StuckQuery>;

export type StuckKind = keyof typeof STUCK_QUERIES;

/** One claimed record: the instance uuid or migration id, the instance it concerns, and how long it had been left. */
export interface StuckRecord {
  key: string;
  instance_uuid: string;
  /** Set for the kinds found in migrations. */
  migration_id?: number;
  age_seconds: number;
}

/** At most this many records of one kind per pass; the rest wait for the next pass. */
const PER_PASS = 50;

/**
 * Finds the records of `kind` untouched for `olderThanSeconds` and claims them (updated_at = now) in one statement:
 * a second pass, here or elsewhere, finds none of them until the deadline passes again.
 */
export async function claimStuck(
  db: DataSource | EntityManager, kind: StuckKind, olderThanSeconds: number, binds: { host?: string; tasks?: readonly string[] } = {},
): Promise<StuckRecord[]> {
  const q: StuckQuery = STUCK_QUERIES[kind];
  const params: unknown[] = [olderThanSeconds];
  const values: Record<string, unknown> = { open: allNonTerminalStatuses(), host: binds.host ?? null, tasks: binds.tasks ?? [] };
  const where = q.where.replace(/:(open|host|tasks)\b/g, (_m, name: string) => {
    params.push(values[name]);
    return `$${params.length}`;
  });
  const key = q.table === 'instances' ? 'uuid' : 'id';
  const instance = q.table === 'instances' ? 'uuid' : 'instance_uuid';
  // A SELECT over the update, so the driver answers rows (an UPDATE's answer is shaped differently).
  const rows: { key: string; instance_uuid: string; age_seconds: number | string }[] = await db.query(
    `WITH stuck AS (
       SELECT t.${key} AS key, t.updated_at AS was FROM ${q.table} t
        WHERE ${where} AND t.updated_at < now() - make_interval(secs => $1::float8)
        ORDER BY t.updated_at LIMIT ${PER_PASS}
        FOR UPDATE OF t SKIP LOCKED),
     touched AS (
       UPDATE ${q.table} u SET updated_at = now() FROM stuck WHERE u.${key} = stuck.key
       RETURNING u.${key}::text AS key, u.${instance}::text AS instance_uuid, extract(epoch FROM now() - stuck.was)::float8 AS age_seconds)
     SELECT key, instance_uuid, age_seconds FROM touched`,
    params,
  );
  return rows.map((r) => ({
    key: r.key, instance_uuid: r.instance_uuid, ...(q.table === 'migrations' ? { migration_id: Number(r.key) } : {}),
    age_seconds: Math.round(Number(r.age_seconds)),
  }));
}

/**
 * Runs fn in a transaction holding the advisory lock `name` (pg_try_advisory_xact_lock): of concurrent callers, one
 * runs fn and the others get `elected: false` at once. fn must use the transaction's manager only (embedded PGlite
 * has one session: the transaction holds it).
 */
export async function whileElected<T>(ds: DataSource, name: string, fn: (em: EntityManager) => Promise<T>): Promise<{ elected: true; value: T } | { elected: false }> {
  return ds.transaction(async (em) => {
    const [row]: { won: boolean }[] = await em.query('SELECT pg_try_advisory_xact_lock(hashtext($1)::bigint) AS won', [name]);
    if (!row?.won) return { elected: false as const };
    return { elected: true as const, value: await fn(em) };
  });
}

/**
 * Who asked for the instance's latest action (the fields of a request context; absent ones left out): a re-driven
 * step records its events under that action.
 */
export async function latestActionRequester(ds: DataSource, instanceUuid: string): Promise<{ request_id: string; user_id?: string; project_id?: string } | undefined> {
  const [row]: ActionRequester[] = await ds.query(
    'SELECT request_id, user_id, project_id FROM instance_actions WHERE instance_uuid = $1 ORDER BY id DESC LIMIT 1', [instanceUuid],
  );
  if (!row) return undefined;
  return { request_id: row.request_id, ...(row.user_id ? { user_id: row.user_id } : {}), ...(row.project_id ? { project_id: row.project_id } : {}) };
}
