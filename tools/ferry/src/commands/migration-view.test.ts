import { bytes, duration, formatList, formatShow, phaseLines, policyLines, watchFigures, watchLine, type MigrationRecord } from './migration-view';

const MIB = 1024 * 1024;

function move(over: Partial<MigrationRecord> = {}): MigrationRecord {
  return {
    id: 7, uuid: 'u-7', instance_uuid: '0b4a3c2d-1111-4222-8333-944455556666', migration_type: 'live-migration', status: 'running',
    source_compute: 'compute-1', dest_compute: 'compute-2', created_at: '2026-12-04T10:00:00.000000', updated_at: '2026-12-04T10:00:05.000000',
    memory_total: 512 * MIB, memory_processed: 256 * MIB, memory_remaining: 256 * MIB, disk_total: null, disk_processed: null, disk_remaining: null,
    phase_timings: {}, last_error: null, steer_request: null, in_progress: true, ...over,
  };
}

describe('how ferry migration prints moves', () => {
  it('reads bytes and durations as an operator does', () => {
    expect([bytes(512), bytes(3.4 * MIB), bytes(20 * 1024 * MIB)]).toEqual(['512 B', '3.4 MiB', '20.0 GiB']);
    expect([duration(850), duration(12_340), duration(245_000)]).toEqual(['850 ms', '12.3 s', '4 min 05 s']);
  });

  it('lists moves in a table with how much of each has moved', () => {
    expect(formatList([move(), move({ id: 8, migration_type: 'migration', status: 'finished', memory_total: null, memory_processed: null, memory_remaining: null })]))
      .toBe([
        'ID  TYPE            STATUS    INSTANCE                              FROM       TO         MOVED  UPDATED',
        '7   live-migration  running   0b4a3c2d-1111-4222-8333-944455556666  compute-1  compute-2  50%    2026-12-04T10:00:05.000000',
        '8   migration       finished  0b4a3c2d-1111-4222-8333-944455556666  compute-1  compute-2  -      2026-12-04T10:00:05.000000',
        '',
      ].join('\n'));
    expect(formatList([])).toBe('no migrations\n');
  });

  it('shows phases in the order they started, with durations, a phase not yet over as running', () => {
    const m = move({
      phase_timings: {
        perform: { started_at: '2026-12-04T10:00:01.000Z', iterations: 3 },
        preparing: { started_at: '2026-12-04T10:00:00.500Z', finished_at: '2026-12-04T10:00:01.000Z' },
        never: { finished_at: '2026-12-04T10:00:02.000Z' },
      },
      last_error: 'boom',
    });
    expect(phaseLines(m)).toEqual([
      '    preparing              2026-12-04T10:00:00.500Z  500 ms',
      '    perform                2026-12-04T10:00:01.000Z  running  iterations=3',
    ]);
    expect(formatShow(m)).toContain('  memory:    256.0 MiB of 512.0 MiB sent, 256.0 MiB remaining\n  moved:     50%\n  error:     boom\n  phases:\n');
    expect(formatShow(move({ phase_timings: {} }))).toContain('  phases:    none recorded\n');
  });

  it('shows the policy in force with where each value came from, and what it ignored, before the phases', () => {
    const policy = {
      bandwidth_bytes_per_s: { value: 64 * MIB, source: 'server' as const, key: 'ferry:migration_bandwidth_mib_s' },
      max_downtime_ms: { value: 300, source: 'flavor' as const, key: 'ferry:migration_policy:max_downtime_ms' },
      completion_timeout_s_per_gib: { value: 0, source: 'image' as const, key: 'ferry:migration_policy:completion_timeout_s_per_gib' },
      auto_converge: { value: false, source: 'default' as const },
      post_copy: { value: true, source: 'default' as const },
      rejected: [{ source: 'server' as const, key: 'ferry:migration_policy:max_downtime_ms', value: 'abc', problem: 'must be an integer from 100 to 600000' }],
    };
    expect(policyLines(policy)).toEqual([
      '    bandwidth           64 MiB/s        server (ferry:migration_bandwidth_mib_s)',
      '    max downtime        300 ms          flavor (ferry:migration_policy:max_downtime_ms)',
      '    completion timeout  never           image (ferry:migration_policy:completion_timeout_s_per_gib)',
      '    auto-converge       off             default',
      '    post-copy           on              default',
      '    ignored             ferry:migration_policy:max_downtime_ms="abc" (server): must be an integer from 100 to 600000',
    ]);
    expect(formatShow(move({ migration_policy: policy }))).toContain('  policy:\n    bandwidth           64 MiB/s');
    expect(formatShow(move({ migration_policy: policy }))).toMatch(/post-copy {11}on {14}default\n {4}ignored .*\n {2}phases: {4}none recorded\n$/);
    expect(formatShow(move())).not.toContain('policy:');
  });

  it('measures the rate between looks that saw bytes move, and keeps it across looks that did not', () => {
    const first = watchFigures(move({ memory_processed: 100 * MIB, memory_remaining: 412 * MIB }), undefined, 0);
    expect(first.figures).toEqual({ processed: 100 * MIB, total: 512 * MIB, rate: null, eta: null });
    const second = watchFigures(move({ memory_processed: 200 * MIB, memory_remaining: 312 * MIB }), first.movement, 500);
    expect(second.figures.rate).toBe(200 * MIB);
    expect(second.figures.eta).toBeCloseTo(1.56, 2);
    const same = watchFigures(move({ memory_processed: 200 * MIB, memory_remaining: 312 * MIB }), second.movement, 700);
    expect(same.figures.rate).toBe(200 * MIB);
    expect(same.movement).toEqual(second.movement);
    expect(watchLine(move(), second.figures)).toBe('7 live-migration 0b4a3c2d compute-1->compute-2  running  200.0 MiB/512.0 MiB  200.0 MiB/s  ~1.6 s left');
  });
});
