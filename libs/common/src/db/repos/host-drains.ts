// The host_drains table, and the facts a drain's progress is derived from (instance rows, move records, faults).
// Functions take a DataSource or the EntityManager of the elected pass's transaction (one connection when embedded).
import {
  allNonTerminalStatuses, drainItemProgress, MOVE_ACCEPT_TASKS, OPEN_DRAIN_STATUSES, type DrainItemFacts, type DrainItemProgress, type DrainStatus,
} from '../../domain';
import { HostDrain } from '../entities';
import type { Db } from '../db-handle';
import { COMPUTE_BINARY } from '../../service/binaries';

/** How long a move the drain started may take to take its instance's task before the drain starts it again. */
export const DRAIN_START_GRACE_MS = 30_000;

/** The reason a drained host's compute service shows (`openstack compute service list --long`). */
export function drainDisabledReason(drainId: string): string {
  return `ferry drain ${drainId}`;
}

/** The move types a drain starts. */
const DRAIN_MOVE_TYPES = ['live-migration', 'migration', 'resize'];

/** Inserts a drain; a second open drain of the same host is refused by host_drains_one_open_idx (see isOpenDrainConflict). */
export async function createDrain(db: Db, drain: Pick<HostDrain, 'id' | 'host' | 'mode' | 'concurrency' | 'plan' | 'request_context'>): Promise<HostDrain> {
  const repo = db.getRepository(HostDrain);
  await repo.insert({ ...drain, status: 'running' });
  return repo.findOneByOrFail({ id: drain.id });
}

/** True when err is the database refusing a second open drain of one host. */
export function isOpenDrainConflict(err: unknown): boolean {
  const e = err as { code?: string; constraint?: string; driverError?: { code?: string; constraint?: string } };
  return (e.driverError?.code ?? e.code) === '23505' && (e.driverError?.constraint ?? e.constraint) === 'host_drains_one_open_idx';
}

export async function getDrain(db: Db, id: string): Promise<HostDrain | undefined> {
  return (await db.getRepository(HostDrain).findOneBy({ id })) ?? undefined;
}

/** Every drain, newest first; only the open ones (running, cancelling), or the ended ones, or the newest `limit`, when asked. */
export async function listDrains(db: Db, opts: { open?: boolean; host?: string; limit?: number } = {}): Promise<HostDrain[]> {
  const qb = db.getRepository(HostDrain).createQueryBuilder('d').orderBy('d.created_at', 'DESC');
  if (opts.open === true) qb.andWhere('d.status IN (:...open)', { open: OPEN_DRAIN_STATUSES });
  if (opts.open === false) qb.andWhere('d.status NOT IN (:...open)', { open: OPEN_DRAIN_STATUSES });
  if (opts.host) qb.andWhere('d.host = :host', { host: opts.host });
  if (opts.limit !== undefined) qb.take(opts.limit);
  return qb.getMany();
}

/** Moves a drain from one of `from` to `to` (ended ones get finished_at, cancelling cancelled_at); false if it was not in `from`. */
export async function advanceDrain(db: Db, id: string, from: readonly DrainStatus[], to: DrainStatus): Promise<boolean> {
  const stamp = to === 'cancelling' ? ', cancelled_at = now()' : to === 'cancelled' || to === 'completed' ? ', finished_at = now()' : '';
  // Through a CTE: the driver answers a bare UPDATE … RETURNING with [rows, count], a SELECT with its rows.
  const rows: unknown[] = await db.query(
    `WITH u AS (UPDATE host_drains SET status = $3, updated_at = now()${stamp} WHERE id = $1 AND status = ANY($2) RETURNING id) SELECT id FROM u`,
    [id, [...from], to],
  );
  return rows.length === 1;
}

/** Notes that the drain started these instances' moves now; a second start (one that never took) replaces the first time. */
export async function markDrainDispatched(db: Db, id: string, uuids: readonly string[], at: Date): Promise<void> {
  if (uuids.length === 0) return;
  const stamp = JSON.stringify(Object.fromEntries(uuids.map((u) => [u, at.toISOString()])));
  await db.query(`UPDATE host_drains SET dispatched = dispatched || $2::jsonb, updated_at = now() WHERE id = $1`, [id, stamp]);
}

/** Records why the drain could not start an instance's move (the first reason stays). */
export async function recordDrainRefusal(db: Db, id: string, uuid: string, reason: string): Promise<void> {
  await db.query(`UPDATE host_drains SET refused = jsonb_build_object($2::text, $3::text) || refused, updated_at = now() WHERE id = $1`, [id, uuid, reason.slice(0, 2000)]);
}

/** Disables the host's compute service, naming the drain as the reason, and notes on the drain that it did. */
export async function disableServiceForDrain(db: Db, drain: Pick<HostDrain, 'id' | 'host'>): Promise<void> {
  await db.query(`UPDATE services SET disabled = true, disabled_reason = $3, updated_at = now() WHERE host = $1 AND "binary" = $2`, [drain.host, COMPUTE_BINARY, drainDisabledReason(drain.id)]);
  await db.query(`UPDATE host_drains SET service_disabled = true, updated_at = now() WHERE id = $1`, [drain.id]);
}

interface FactRow {
  uuid: string;
  host: string | null;
  task_state: string | null;
  deleted: boolean;
  migration_id: number | null;
  status: string | null;
  dest_compute: string | null;
  last_error: string | null;
  fault: string | null;
  fault_at: Date | null;
}

/** What the database says of each instance of the drain's plan, by uuid. */
async function drainFacts(db: Db, drain: HostDrain): Promise<Map<string, DrainItemFacts>> {
  const uuids = drain.plan.map((p) => p.instance_uuid);
  const rows: FactRow[] = uuids.length === 0 ? [] : await db.query(
    `SELECT i.uuid, i.host, i.task_state, i.deleted_at IS NOT NULL AS deleted,
            m.id AS migration_id, m.status, m.dest_compute, m.last_error, f.message AS fault, f.created_at AS fault_at
       FROM instances i
       LEFT JOIN LATERAL (SELECT id, status, dest_compute, last_error FROM migrations
                           WHERE instance_uuid = i.uuid AND source_compute = $2 AND created_at >= $3 AND deleted_at IS NULL
                             AND migration_type = ANY($4) ORDER BY id DESC LIMIT 1) m ON true
       LEFT JOIN LATERAL (SELECT message, created_at FROM instance_faults
                           WHERE instance_uuid = i.uuid AND created_at >= $3 ORDER BY id DESC LIMIT 1) f ON true
      WHERE i.uuid = ANY($1)`,
    [uuids, drain.host, drain.created_at, DRAIN_MOVE_TYPES],
  );
  const facts = new Map<string, DrainItemFacts>();
  for (const r of rows) {
    facts.set(r.uuid, {
      ...(r.deleted ? {} : { instance: { host: r.host, task_state: r.task_state } }),
      ...(r.migration_id !== null ? { migration: { id: Number(r.migration_id), status: r.status!, dest_compute: r.dest_compute, last_error: r.last_error } } : {}),
      ...(r.fault !== null ? { fault: { message: r.fault, at: new Date(r.fault_at!) } } : {}),
    });
  }
  return facts;
}

/** Where each instance of the drain stands now, in plan order. */
export async function drainItems(db: Db, drain: HostDrain, now = new Date()): Promise<DrainItemProgress[]> {
  const facts = await drainFacts(db, drain);
  return drain.plan.map((item) => {
    const dispatched = drain.dispatched[item.instance_uuid];
    return drainItemProgress(item, facts.get(item.instance_uuid) ?? {}, {
      host: drain.host, now, startGraceMs: DRAIN_START_GRACE_MS, ...(dispatched ? { dispatchedAt: new Date(dispatched) } : {}),
      ...(drain.refused[item.instance_uuid] ? { refused: drain.refused[item.instance_uuid] } : {}),
    });
  });
}

/** One move under way in the cluster, as the drain's limits count it. */
export interface MoveInFlight {
  instance_uuid: string;
  source: string;
  live: boolean;
  /** The bandwidth the move's record says its policy set (live migrations that recorded one). */
  recorded_bandwidth: number | null;
}

/**
 * Every move under way in the cluster (live and cold, whoever started it): open records, and moves accepted whose
 * record does not exist yet. A cold move waiting in VERIFY_RESIZE (finished) moves nothing and is not counted, unless
 * an open drain of its source started it: that one holds its place until the drain's confirm ends it. One statement,
 * so a move changing status meanwhile is counted once.
 */
export async function movesInFlight(db: Db): Promise<MoveInFlight[]> {
  const open = allNonTerminalStatuses().filter((s) => s !== 'finished');
  const rows: { uuid: string; source: string; type: string; recorded_bandwidth: number | null }[] = await db.query(
    `SELECT m.instance_uuid AS uuid, m.source_compute AS source, m.migration_type AS type,
            (m.migration_policy->'bandwidth_bytes_per_s'->>'value')::float8 AS recorded_bandwidth
       FROM migrations m
      WHERE m.deleted_at IS NULL AND m.migration_type = ANY($1)
        AND (m.status = ANY($2) OR (m.status = 'finished' AND EXISTS (SELECT 1 FROM host_drains d
              WHERE d.host = m.source_compute AND d.status = ANY($5) AND m.created_at >= d.created_at)))
     UNION ALL
     SELECT i.uuid, i.host, CASE WHEN i.task_state = 'migrating' THEN 'live-migration' ELSE 'migration' END, NULL
       FROM instances i
      WHERE i.deleted_at IS NULL AND i.task_state = ANY($3)
        AND NOT EXISTS (SELECT 1 FROM migrations o WHERE o.instance_uuid = i.uuid AND o.deleted_at IS NULL AND o.status = ANY($4))`,
    [DRAIN_MOVE_TYPES, open, [...MOVE_ACCEPT_TASKS], allNonTerminalStatuses(), [...OPEN_DRAIN_STATUSES]],
  );
  return rows.map((r) => ({
    instance_uuid: r.uuid, source: r.source, live: r.type === 'live-migration', recorded_bandwidth: r.recorded_bandwidth === null ? null : Number(r.recorded_bandwidth),
  }));
}
