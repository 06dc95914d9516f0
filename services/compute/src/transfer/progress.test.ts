import { ProgressMeter, type TransferProgress } from './progress';

function meter(total: number, intervalMs: number) {
  let now = 0;
  const reports: TransferProgress[] = [];
  const m = new ProgressMeter(total, (p) => reports.push(p), intervalMs, () => now);
  return { m, reports, tick: (ms: number) => (now += ms) };
}

describe('progress meter', () => {
  it('reports the start, at most one report per interval, and the end', () => {
    const { m, reports, tick } = meter(100, 1000);
    m.start();
    for (let i = 0; i < 10; i++) {
      tick(300);
      m.advance(10);
    }
    m.finish();
    expect(reports.map((p) => p.processed)).toEqual([0, 40, 80, 100]);
    expect(reports.every((p) => p.total === 100 && p.remaining === 100 - p.processed)).toBe(true);
  });

  it('does not repeat the end when the last report already reached it', () => {
    const { m, reports } = meter(10, 0);
    m.start();
    m.advance(10);
    m.finish();
    expect(reports.map((p) => p.processed)).toEqual([0, 10]);
  });

  it('never reports past the total', () => {
    const { m, reports } = meter(10, 0);
    m.start();
    m.advance(25);
    expect(reports[reports.length - 1]).toEqual({ total: 10, processed: 10, remaining: 0 });
  });

  it('works without a listener', () => {
    const m = new ProgressMeter(5, undefined, 0);
    m.start();
    m.advance(5);
    m.finish();
    expect(m.done).toBe(5);
  });
});
