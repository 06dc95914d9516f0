// The figures that live in Postgres, read at scrape time: moves started, finished and in flight, their durations and
// bytes, live-migration downtime, and every service's heartbeat age. Any API process answers them the same.
import type { DataSource } from 'typeorm';
import { heartbeatAges, liveDowntimes, migrationDurations, migrationTallies, phaseDurations, type MigrationTally } from '@ferry/common/db';
import { Registry } from 'prom-client';
import { addSnapshot, histogramValues } from './snapshot';

/** A move takes from well under a second (fake hosts) to hours (a large disk over a slow link). */
export const DURATION_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200];
/** Live-migration downtime: Nova's default limit is 500 ms; anything past a few seconds is an outage. */
export const DOWNTIME_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export async function scrapeDatabaseMetrics(ds: DataSource): Promise<string> {
  const started = performance.now();
  const [tallies, durations, phases, downtimes, heartbeats] = await Promise.all([
    migrationTallies(ds), migrationDurations(ds, DURATION_BUCKETS), phaseDurations(ds, DURATION_BUCKETS), liveDowntimes(ds, DOWNTIME_BUCKETS), heartbeatAges(ds),
  ]);
  const registry = new Registry();
  const byType = (rows: MigrationTally[], value: (r: MigrationTally) => number) => sumBy(rows, (r) => ({ migration_type: r.migration_type }), value);
  addSnapshot(registry, {
    name: 'ferry_migrations_started_total', type: 'counter', help: 'Moves recorded (migration records created, deleted instances\' included), by type.',
    values: byType(tallies, (r) => r.count),
  });
  addSnapshot(registry, {
    name: 'ferry_migrations_finished_total', type: 'counter', help: 'Moves that reached a final status, by type and that status.',
    values: sumBy(tallies.filter((r) => r.terminal), (r) => ({ migration_type: r.migration_type, status: r.status }), (r) => r.count),
  });
  addSnapshot(registry, {
    name: 'ferry_migrations_in_progress', type: 'gauge', help: 'Moves not in a final status (of instances not deleted), by type and status.',
    values: sumBy(tallies.filter((r) => !r.terminal && !r.deleted), (r) => ({ migration_type: r.migration_type, status: r.status }), (r) => r.count),
  });
  addSnapshot(registry, {
    name: 'ferry_migration_memory_bytes_total', type: 'counter', help: 'Guest memory bytes moves processed (memory_processed of every record), by type.',
    values: byType(tallies, (r) => r.memory_bytes),
  });
  addSnapshot(registry, {
    name: 'ferry_migration_disk_bytes_total', type: 'counter', help: 'Disk bytes moves processed (disk_processed of every record), by type.',
    values: byType(tallies, (r) => r.disk_bytes),
  });
  addSnapshot(registry, {
    name: 'ferry_migration_duration_seconds', type: 'histogram', help: 'Seconds from a move\'s record to its final status, by type and final status.',
    values: histogramValues('ferry_migration_duration_seconds', DURATION_BUCKETS, durations),
  });
  addSnapshot(registry, {
    name: 'ferry_migration_phase_duration_seconds', type: 'histogram', help: 'Seconds of each timed phase of a move (phase_timings), by type and phase.',
    values: histogramValues('ferry_migration_phase_duration_seconds', DURATION_BUCKETS, phases),
  });
  addSnapshot(registry, {
    name: 'ferry_live_migration_downtime_seconds', type: 'histogram', help: 'Seconds a completed live migration paused its guest at the switchover.',
    values: histogramValues('ferry_live_migration_downtime_seconds', DOWNTIME_BUCKETS, downtimes),
  });
  addSnapshot(registry, {
    name: 'ferry_service_heartbeat_age_seconds', type: 'gauge', help: 'Seconds since each service\'s last heartbeat (database clock), by binary and host.',
    values: heartbeats.map((h) => ({ labels: { binary: h.binary, host: h.host }, value: h.age_seconds })),
  });
  addSnapshot(registry, {
    name: 'ferry_metrics_database_scrape_seconds', type: 'gauge', help: 'Seconds this scrape spent reading the figures above from the database.',
    values: [{ labels: {}, value: (performance.now() - started) / 1000 }],
  });
  return registry.metrics();
}

/** Sums value over the rows that share a label set (e.g. live and deleted rows of one type). */
function sumBy<T>(rows: T[], labels: (r: T) => Record<string, string>, value: (r: T) => number): { labels: Record<string, string>; value: number }[] {
  const sums = new Map<string, { labels: Record<string, string>; value: number }>();
  for (const row of rows) {
    const set = labels(row);
    const key = JSON.stringify(set);
    const entry = sums.get(key) ?? { labels: set, value: 0 };
    entry.value += value(row);
    sums.set(key, entry);
  }
  return [...sums.values()];
}
