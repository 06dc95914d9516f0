import { completionTimeoutSeconds, downtimeAt, downtimeSteps } from './downtime-ramp';

describe('downtime ramp (Nova defaults: 500 ms, 10 steps, 75 s per GiB)', () => {
  const steps = downtimeSteps({ maxDowntimeMs: 500, steps: 10, delaySecondsPerGib: 75 }, 2 * 1024 ** 3);

  it('has steps+1 steps, 150 s apart for 2 GiB, rising to the maximum', () => {
    expect(steps).toHaveLength(11);
    expect(steps.map(([at]) => at)).toEqual([0, 150, 300, 450, 600, 750, 900, 1050, 1200, 1350, 1500]);
    expect(steps[0]![1]).toBe(46);
    expect(steps[10]![1]).toBe(500);
    for (let i = 1; i < steps.length; i++) expect(steps[i]![1]).toBeGreaterThan(steps[i - 1]![1]);
  });

  it('allows the last step reached', () => {
    expect(downtimeAt(steps, 0)).toBe(46);
    expect(downtimeAt(steps, 149)).toBe(46);
    expect(downtimeAt(steps, 150)).toBe(steps[1]![1]);
    expect(downtimeAt(steps, 10_000)).toBe(500);
  });

  it('scales the completion timeout with RAM, 0 meaning never', () => {
    expect(completionTimeoutSeconds(800, 2 * 1024 ** 3)).toBe(1600);
    expect(completionTimeoutSeconds(0, 2 * 1024 ** 3)).toBe(0);
  });
});
