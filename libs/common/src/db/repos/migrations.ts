// The migrations table as the computes read it: one record, the open move of an instance, the moves a host takes part in.
import { In, IsNull, type DataSource } from 'typeorm';
import { allNonTerminalStatuses } from '../../domain';
import { Instance, Migration } from '../entities';
import { hydrate } from '../hydrate';
import { queryPrepared } from '../prepared';

export async function getMigration(ds: DataSource, id: number): Promise<Migration | undefined> {
  return (await ds.getRepository(Migration).findOne({ where: { id } })) ?? undefined;
}

/** A move's record, its instance, and the properties of the image the instance booted from (one of its policy layers). */
export interface MoveRow {
  migration: Migration;
  instance: Instance | undefined;
  /** null when the instance has none (no instance, or an image no longer known). */
  imageProperties: Readonly<Record<string, string>> | null;
}

/**
 * A migration (soft-deleted ones excepted, as getMigration), its instance (a deleted one too, as getInstance) and that
 * instance's image properties, in one statement: every step of a move starts by reading them.
 */
export async function getMigrationAndInstance(ds: DataSource, id: number): Promise<MoveRow | undefined> {
  const [row] = await queryPrepared<{ migration: Record<string, unknown>; instance: Record<string, unknown> | null; image_properties: Record<string, string> | null }>(
    ds, 'ferry_migration_instance_image',
    `SELECT to_jsonb(m) AS migration, to_jsonb(i) AS instance, img.properties AS image_properties
       FROM migrations m LEFT JOIN instances i ON i.uuid = m.instance_uuid LEFT JOIN images img ON img.id::text = i.image_ref
      WHERE m.id = $1 AND m.deleted_at IS NULL`,
    [id]);
  if (!row) return undefined;
  return {
    migration: hydrate(ds, Migration, row.migration),
    instance: row.instance ? hydrate(ds, Instance, row.instance) : undefined,
    imageProperties: row.image_properties,
  };
}

/** An instance (a deleted one too, as getInstance) and its unfinished move if any (as openMigrationOf), in one statement. */
export async function getInstanceAndOpenMove(ds: DataSource, uuid: string): Promise<{ instance: Instance; openMove: Migration | undefined } | undefined> {
  const [row] = await queryPrepared<{ instance: Record<string, unknown>; open_move: Record<string, unknown> | null }>(ds, 'ferry_instance_and_open_move_row',
    `SELECT to_jsonb(i) AS instance,
            (SELECT to_jsonb(m) FROM migrations m
              WHERE m.instance_uuid = i.uuid AND m.status = ANY($2) AND m.deleted_at IS NULL ORDER BY m.id DESC LIMIT 1) AS open_move
       FROM instances i WHERE i.uuid = $1`,
    [uuid, allNonTerminalStatuses()]);
  if (!row) return undefined;
  return { instance: hydrate(ds, Instance, row.instance), openMove: row.open_move ? hydrate(ds, Migration, row.open_move) : undefined };
}

/** The instance's unfinished move, if any (the database allows at most one). */
export async function openMigrationOf(ds: DataSource, instanceUuid: string): Promise<Migration | undefined> {
  const found = await ds.getRepository(Migration).findOne({
    where: { instance_uuid: instanceUuid, status: In(allNonTerminalStatuses()), deleted_at: IsNull() },
    order: { id: 'DESC' },
  });
  return found ?? undefined;
}

/** The instance's most recent move of the given types, finished or not. */
export async function latestMigrationOf(ds: DataSource, instanceUuid: string, types: readonly string[]): Promise<Migration | undefined> {
  const found = await ds.getRepository(Migration).findOne({
    where: { instance_uuid: instanceUuid, migration_type: In([...types]), deleted_at: IsNull() }, order: { id: 'DESC' },
  });
  return found ?? undefined;
}

/** Every unfinished move (of any instance), oldest first. */
export async function openMigrations(ds: DataSource): Promise<Migration[]> {
  return ds.getRepository(Migration).find({ where: { status: In(allNonTerminalStatuses()), deleted_at: IsNull() }, order: { id: 'ASC' } });
}

/** Cold moves waiting in `finished` on destination host for longer than olderThanSeconds (auto-confirm candidates). */
export async function finishedMovesOlderThan(ds: DataSource, destHost: string, olderThanSeconds: number): Promise<Migration[]> {
  return ds.getRepository(Migration).createQueryBuilder('m')
    .where('m.dest_compute = :destHost', { destHost })
    .andWhere('m.status = :status', { status: 'finished' })
    .andWhere('m.migration_type IN (:...types)', { types: ['migration', 'resize'] })
    .andWhere('m.deleted_at IS NULL')
    .andWhere("m.updated_at < now() - make_interval(secs => :secs)", { secs: olderThanSeconds })
    .orderBy('m.id', 'ASC')
    .getMany();
}

/**
 * Ids of live migrations coming to destHost that have not reached Finish (preparing, running) while the source's
 * compute service is down: forced down, or no heartbeat for longer than downSeconds (on the database clock).
 */
export async function incomingLiveMovesFromDownSources(ds: DataSource, destHost: string, computeBinary: string, downSeconds: number): Promise<number[]> {
  const rows: { id: number }[] = await ds.query(
    `SELECT m.id FROM migrations m
       LEFT JOIN services s ON s."binary" = $2 AND s.host = m.source_compute
      WHERE m.dest_compute = $1 AND m.migration_type = 'live-migration' AND m.status IN ('preparing', 'running') AND m.deleted_at IS NULL
        AND (s.host IS NULL OR s.forced_down OR s.last_seen_up IS NULL OR s.last_seen_up < now() - make_interval(secs => $3))
      ORDER BY m.id`,
    [destHost, computeBinary, downSeconds],
  );
  return rows.map((r) => Number(r.id));
}

/** Unfinished moves of the given types in which host is the source or the destination, oldest first. */
export async function openMigrationsOnHost(ds: DataSource, host: string, types: readonly string[]): Promise<Migration[]> {
  const statuses = allNonTerminalStatuses();
  return ds.getRepository(Migration).find({
    where: [
      { source_compute: host, migration_type: In([...types]), status: In(statuses), deleted_at: IsNull() },
      { dest_compute: host, migration_type: In([...types]), status: In(statuses), deleted_at: IsNull() },
    ],
    order: { id: 'ASC' },
  });
}

/** True when err is the database refusing a second open move for one instance (migrations_one_open_move_idx). */
export function isOpenMoveConflict(err: unknown): boolean {
  const e = err as { code?: string; constraint?: string; driverError?: { code?: string; constraint?: string } };
  const code = e.driverError?.code ?? e.code;
  const constraint = e.driverError?.constraint ?? e.constraint;
  return code === '23505' && constraint === 'migrations_one_open_move_idx';
}

export type LiveSteerRequest = 'abort' | 'force_complete';

/**
 * Keeps an abort or force-complete on a running live migration's record; an abort is never replaced by a later
 * force-complete. Returns whether the record (still running) now carries the request.
 */
export async function requestLiveSteer(ds: DataSource, migrationId: number, request: LiveSteerRequest): Promise<boolean> {
  const result = await ds.createQueryBuilder().update(Migration)
    .set({ steer_request: request, updated_at: () => 'now()' })
    .where("id = :migrationId AND migration_type = 'live-migration' AND status = 'running'", { migrationId })
    .andWhere("(steer_request IS NULL OR steer_request = :request OR :request = 'abort')", { request })
    .execute();
  return result.affected === 1;
}

/** Live progress into a running record, in the same statement reading back what was asked of it (abort, force). */
export async function recordLiveProgress(
  ds: DataSource, migrationId: number, progress: Pick<Migration, 'memory_total' | 'memory_processed' | 'memory_remaining' | 'disk_total' | 'disk_processed' | 'disk_remaining'>,
): Promise<{ recorded: boolean; steer_request: LiveSteerRequest | null }> {
  // Prepared: a source writes this at every look at each of its running live migrations.
  const answer: unknown = await queryPrepared(ds, 'ferry_record_live_progress',
    `UPDATE migrations SET memory_total = $2, memory_processed = $3, memory_remaining = $4, disk_total = $5, disk_processed = $6,
            disk_remaining = $7, updated_at = now()
      WHERE id = $1 AND status = 'running' RETURNING steer_request`,
    [migrationId, progress.memory_total, progress.memory_processed, progress.memory_remaining, progress.disk_total, progress.disk_processed, progress.disk_remaining],
  );
  // Where statements are not prepared (the embedded database) the answer is ds.query's to an UPDATE: [rows, count].
  const rows = (Array.isArray(answer) && Array.isArray(answer[0]) ? answer[0] : answer) as { steer_request: LiveSteerRequest | null }[];
  return { recorded: rows.length === 1, steer_request: rows[0]?.steer_request ?? null };
}
