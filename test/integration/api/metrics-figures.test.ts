// The database's figures on known rows: 1,000 finished moves with chosen durations, phases, downtimes and bytes, so
// every bucket's count is known; and what a scrape of them costs.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DOWNTIME_BUCKETS, DURATION_BUCKETS, scrapeApiMetrics } from '@ferry/api';
import { migrate, openDatabase, seed, type FerryDatabase } from '@ferry/common/db';
import { createTestDatabase, type TestDatabase } from '../../support/db';
import { insertBuildingInstance, instanceFlavor } from '../scheduler/fixtures';
import { parsePrometheusText, samplesOf, valueOf, type Exposition } from '../../support/prometheus-text';

const ROWS = 1000;
const TYPES = ['migration', 'resize', 'live-migration', 'evacuation'] as const;
const FINAL: Record<(typeof TYPES)[number], string> = { migration: 'confirmed', resize: 'reverted', 'live-migration': 'completed', evacuation: 'completed' };
/** Row i (1..ROWS) is of type TYPES[i % 4], took i seconds, copied i KiB, and (live) paused its guest i ms. */
const rowsOf = (type: (typeof TYPES)[number]) => Array.from({ length: ROWS }, (_, k) => k + 1).filter((i) => TYPES[i % 4] === type);

describe(`metrics of ${ROWS} migration rows`, () => {
  let tdb: TestDatabase;
  let db: FerryDatabase;
  let stateDir: string;
  let m: Exposition;

  beforeAll(async () => {
    tdb = await createTestDatabase();
    stateDir = await mkdtemp(join(tmpdir(), 'ferry-metrics-'));
    db = await openDatabase({ url: tdb.url, stateDir });
    await migrate(db.dataSource);
    await seed(db.dataSource);
    const instance = await insertBuildingInstance(db.dataSource, await instanceFlavor(db.dataSource, 'm1.tiny'));
    await db.dataSource.query(
      `INSERT INTO migrations (uuid, instance_uuid, migration_type, status, created_at, updated_at, disk_processed, memory_processed, phase_timings)
       SELECT gen_random_uuid(), $1, t.type, t.final, now() - make_interval(secs => i), now(), i * 1024, CASE WHEN t.type = 'live-migration' THEN i * 1024 END,
              CASE WHEN t.type = 'live-migration'
                   THEN jsonb_build_object('perform', jsonb_build_object('started_at', now() - make_interval(secs => i), 'finished_at', now(), 'expected_downtime_ms', i))
                   ELSE jsonb_build_object('copy', jsonb_build_object('started_at', now() - make_interval(secs => i), 'finished_at', now())) END
         FROM generate_series(1, $2::int) i
         JOIN (SELECT * FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS x(type, final, n)) t ON t.n = i % 4 + 1`,
      [instance.uuid, ROWS, [...TYPES], TYPES.map((t) => FINAL[t])],
    );
    m = parsePrometheusText(await scrapeApiMetrics(db.dataSource));
  }, 60_000);
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it('counts every row as started and finished, by type and final status', () => {
    for (const type of TYPES) {
      expect(valueOf(m, 'ferry_migrations_started_total', { migration_type: type })).toBe(ROWS / 4);
      expect(valueOf(m, 'ferry_migrations_finished_total', { migration_type: type, status: FINAL[type] })).toBe(ROWS / 4);
    }
    expect(samplesOf(m, 'ferry_migrations_in_progress')).toEqual([]);
  });

  it('puts each duration in the buckets that hold it (le is inclusive)', () => {
    for (const type of TYPES) {
      const labels = { migration_type: type, status: FINAL[type] };
      const seconds = rowsOf(type);
      for (const le of DURATION_BUCKETS) {
        // Durations are whole seconds up to clock rounding: a row of exactly `le` seconds counts in `le`.
        expect([type, le, valueOf(m, 'ferry_migration_duration_seconds_bucket', { ...labels, le: String(le) })])
          .toEqual([type, le, seconds.filter((s) => s <= le).length]);
      }
      expect(valueOf(m, 'ferry_migration_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(ROWS / 4);
      expect(valueOf(m, 'ferry_migration_duration_seconds_sum', labels)).toBeCloseTo(seconds.reduce((a, b) => a + b, 0), 0);
    }
  });

  it('has the phases, the downtimes and the bytes of the rows', () => {
    expect(valueOf(m, 'ferry_migration_phase_duration_seconds_count', { migration_type: 'resize', phase: 'copy' })).toBe(ROWS / 4);
    expect(valueOf(m, 'ferry_migration_phase_duration_seconds_count', { migration_type: 'live-migration', phase: 'perform' })).toBe(ROWS / 4);
    const downtimes = rowsOf('live-migration').map((ms) => ms / 1000);
    for (const le of DOWNTIME_BUCKETS) {
      expect(valueOf(m, 'ferry_live_migration_downtime_seconds_bucket', { le: String(le) })).toBe(downtimes.filter((s) => s <= le).length);
    }
    expect(valueOf(m, 'ferry_migration_disk_bytes_total', { migration_type: 'evacuation' })).toBe(rowsOf('evacuation').reduce((a, i) => a + i * 1024, 0));
    expect(valueOf(m, 'ferry_migration_memory_bytes_total', { migration_type: 'live-migration' })).toBe(rowsOf('live-migration').reduce((a, i) => a + i * 1024, 0));
  });

  it('answers a scrape in well under a second', async () => {
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      const started = performance.now();
      await scrapeApiMetrics(db.dataSource);
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    process.stdout.write(`scrape of ${ROWS} migration rows: median ${times[5]!.toFixed(1)} ms, max ${times[9]!.toFixed(1)} ms\n`);
    expect(times[5]).toBeLessThan(1000);
  });
});
