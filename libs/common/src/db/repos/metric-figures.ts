// What the metrics read from the database: migration tallies and bytes moved, histograms bucketed in SQL (so a scrape
// costs one grouped query, however many rows), and every service's heartbeat age on the database clock.
import type { DataSource } from 'typeorm';
import { isTerminal, MIGRATION_STATUSES, MIGRATION_TYPES } from '../../domain';

/** Rows of one migration type and status (soft-deleted ones apart), with the bytes their moves processed. */
export interface MigrationTally {
  migration_type: string;
  status: string;
  terminal: boolean;
  deleted: boolean;
  count: number;
  memory_bytes: number;
  disk_bytes: number;
}

export async function migrationTallies(ds: DataSource): Promise<MigrationTally[]> {
  const rows: { migration_type: string; status: string; deleted: boolean; count: number; memory_bytes: number; disk_bytes: number }[] = await ds.query(
    `SELECT migration_type, status, deleted_at IS NOT NULL AS deleted, count(*)::int AS count,
            coalesce(sum(memory_processed), 0)::float8 AS memory_bytes, coalesce(sum(disk_processed), 0)::float8 AS disk_bytes
       FROM migrations GROUP BY 1, 2, 3`,
  );
  return rows.map((r) => ({ ...r, terminal: isTerminalMove(r.migration_type, r.status) }));
}

function isTerminalMove(type: string, status: string): boolean {
  return (MIGRATION_TYPES as readonly string[]).includes(type) && isTerminal(type, status);
}

/** `type:status` of every terminal pair, for SQL to pick the finished moves by. */
function terminalKeys(): string[] {
  return MIGRATION_TYPES.flatMap((t) => MIGRATION_STATUSES.filter((s) => isTerminal(t, s)).map((s) => `${t}:${s}`));
}

/** One label set's histogram: cumulative counts per upper bound (Prometheus's `le`), then the total count and sum. */
export interface HistogramFigures {
  labels: Record<string, string>;
  /** cumulative[i] counts the values <= bounds[i]. */
  cumulative: number[];
  count: number;
  sum: number;
}

/** Seconds from a move's record to its final status, by type and final status. */
export function migrationDurations(ds: DataSource, bounds: readonly number[]): Promise<HistogramFigures[]> {
  return bucketed(ds, `SELECT migration_type, status, extract(epoch FROM updated_at - created_at)::float8 AS v
      FROM migrations WHERE migration_type || ':' || status = ANY($2)`, ['migration_type', 'status'], bounds, [terminalKeys()]);
}

/** Seconds of every phase a move timed (phase_timings entries with a start and an end), by type and phase. */
export function phaseDurations(ds: DataSource, bounds: readonly number[]): Promise<HistogramFigures[]> {
  return bucketed(ds, `SELECT m.migration_type, p.key AS phase,
      extract(epoch FROM (p.value->>'finished_at')::timestamptz - (p.value->>'started_at')::timestamptz)::float8 AS v
      FROM migrations m CROSS JOIN LATERAL jsonb_each(m.phase_timings) p
      WHERE jsonb_typeof(p.value) = 'object' AND p.value ? 'started_at' AND p.value ? 'finished_at'`, ['migration_type', 'phase'], bounds);
}

/** Seconds the guest was paused at the switchover of every completed live migration (its perform phase's downtime). */
export function liveDowntimes(ds: DataSource, bounds: readonly number[]): Promise<HistogramFigures[]> {
  return bucketed(ds, `SELECT (phase_timings->'perform'->>'expected_downtime_ms')::float8 / 1000 AS v
      FROM migrations WHERE migration_type = 'live-migration' AND status = 'completed'
        AND jsonb_typeof(phase_timings->'perform'->'expected_downtime_ms') = 'number'`, [], bounds);
}

async function bucketed(ds: DataSource, source: string, labels: string[], bounds: readonly number[], params: unknown[] = []): Promise<HistogramFigures[]> {
  const cols = labels.map((l) => `s.${l}`);
  // A value's bucket is the number of bounds below it, so bounds[bucket] is the first that holds it (le is inclusive):
  // width_bucket counts the bounds at or below its operand, so it is asked, negated, for those at or above the value.
  const negated = bounds.map((b) => -b).reverse();
  const rows: Record<string, string | number>[] = await ds.query(
    `SELECT ${[...cols, ''].join(', ')}${bounds.length} - width_bucket(-s.v, $1::float8[]) AS bucket, count(*)::int AS count, sum(s.v)::float8 AS sum
       FROM (${source}) s WHERE s.v IS NOT NULL GROUP BY ${[...cols, 'bucket'].join(', ')}`,
    [negated, ...params],
  );
  const byLabels = new Map<string, HistogramFigures>();
  for (const row of rows) {
    const set = Object.fromEntries(labels.map((l) => [l, String(row[l])]));
    const key = JSON.stringify(set);
    let figures = byLabels.get(key);
    if (!figures) byLabels.set(key, (figures = { labels: set, cumulative: bounds.map(() => 0), count: 0, sum: 0 }));
    const bucket = Number(row.bucket);
    for (let i = bucket; i < bounds.length; i++) figures.cumulative[i]! += Number(row.count);
    figures.count += Number(row.count);
    figures.sum += Number(row.sum);
  }
  return [...byLabels.values()];
}

export interface HeartbeatAge {
  host: string;
  binary: string;
  age_seconds: number;
}

/** Seconds since each service's last heartbeat, on the database clock (the clock the heartbeats were written on). */
export async function heartbeatAges(ds: DataSource): Promise<HeartbeatAge[]> {
  const rows: HeartbeatAge[] = await ds.query(
    `SELECT host, "binary", extract(epoch FROM now() - last_seen_up)::float8 AS age_seconds
       FROM services WHERE last_seen_up IS NOT NULL ORDER BY host, "binary"`,
  );
  return rows.map((r) => ({ ...r, age_seconds: Number(r.age_seconds) }));
}
