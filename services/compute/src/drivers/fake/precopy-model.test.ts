import {
  advancePrecopy, effectiveDirtyRate, expectedDowntimeMs, forceCompletion, isCompleted, remainingBytes, startPrecopy, THROTTLE_INCREMENT,
  THROTTLE_INITIAL, THROTTLE_MAX, type PrecopyParams,
} from './precopy-model';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

const start = (p: Partial<PrecopyParams> = {}) => startPrecopy({ ramBytes: GIB, bandwidth: GIB, dirtyRate: 0, autoConverge: false, maxDowntimeMs: 500, ...p });

/** Advances in steps of stepMs until `until` holds or maxMs have passed; returns the simulated ms it took. */
function runUntil(s: ReturnType<typeof start>, until: () => boolean, stepMs = 1, maxMs = 120_000): number {
  const from = s.elapsedMs;
  while (!until() && s.elapsedMs - from < maxMs) advancePrecopy(s, stepMs);
  return s.elapsedMs - from;
}

describe('pre-copy model', () => {
  it('an idle guest switches over once what remains fits the downtime, and completes after RAM / bandwidth', () => {
    const s = start();
    advancePrecopy(s, 499);
    expect(s.stage).toBe('precopy');
    advancePrecopy(s, 1);
    // 1 GiB/s × 500 ms: the last 512 MiB go while the guest is stopped.
    expect(s.stage).toBe('switchover');
    expect(remainingBytes(s)).toBeCloseTo(GIB / 2, -1);
    advancePrecopy(s, 499);
    expect(isCompleted(s)).toBe(false);
    advancePrecopy(s, 1);
    expect(s).toMatchObject({ stage: 'completed', iterations: 1, processed: GIB });
    expect(s.elapsedMs).toBeCloseTo(1000, 6);
    expect(s.downtimeMs).toBeCloseTo(500, 6);
    expect(remainingBytes(s)).toBe(0);
    expect(expectedDowntimeMs(s)).toBe(0);
  });

  it('the first pass sends all of RAM; each next pass sends what the guest dirtied during the previous one', () => {
    // No downtime allowed: nothing converges, so the passes can be watched.
    const s = start({ dirtyRate: 256 * MIB, maxDowntimeMs: 0 });
    advancePrecopy(s, 1000);
    // Pass 1 took 1 s, during which 256 MiB were dirtied: pass 2 is 256 MiB long and takes 250 ms.
    expect(s.iterations).toBe(2);
    expect(s.passRemaining).toBeCloseTo(256 * MIB, -1);
    expect(s.processed).toBeCloseTo(GIB, -1);
    advancePrecopy(s, 250);
    expect(s.iterations).toBe(3);
    expect(s.passRemaining).toBeCloseTo(64 * MIB, -1);
    expect(s.processed).toBeCloseTo(GIB + 256 * MIB, -1);
  });

  it('expects a downtime of what remains over the bandwidth', () => {
    const s = start({ bandwidth: 100 * MIB, dirtyRate: 10 * MIB, maxDowntimeMs: 0 });
    advancePrecopy(s, 2000);
    expect(remainingBytes(s)).toBeCloseTo(GIB - 200 * MIB + 20 * MIB, -1);
    expect(expectedDowntimeMs(s)).toBeCloseTo((remainingBytes(s) / (100 * MIB)) * 1000, 6);
  });

  it('a busy guest needs more passes, each shorter, and its switch-over never pauses it longer than allowed', () => {
    const s = start({ dirtyRate: 256 * MIB, maxDowntimeMs: 50 });
    runUntil(s, () => s.stage !== 'precopy');
    expect(expectedDowntimeMs(s)).toBeLessThanOrEqual(50 + 1e-6);
    runUntil(s, () => isCompleted(s));
    expect(s.iterations).toBeGreaterThan(1);
    expect(s.processed).toBeGreaterThan(GIB);
    expect(s.elapsedMs).toBeLessThan(2000);
    expect(s.downtimeMs).toBeLessThanOrEqual(50 + 1e-6);
  });

  it('never converges when the guest dirties faster than the link', () => {
    const s = start({ dirtyRate: 2 * GIB });
    advancePrecopy(s, 60_000);
    expect(s.stage).toBe('precopy');
    expect(s.iterations).toBe(61);
    expect(remainingBytes(s)).toBe(GIB);
    expect(expectedDowntimeMs(s)).toBe(1000);
  });

  it('force-complete by pausing: nothing is dirtied any more, the job completes once what remains is sent', () => {
    const s = start({ dirtyRate: 2 * GIB, maxDowntimeMs: 0 });
    advancePrecopy(s, 10_250);
    const left = remainingBytes(s);
    forceCompletion(s, 'pause');
    expect(effectiveDirtyRate(s)).toBe(0);
    expect(s).toMatchObject({ paused: true, postcopy: false });
    const took = runUntil(s, () => isCompleted(s));
    expect(took).toBeCloseTo((left / GIB) * 1000, -1);
  });

  it('force-complete by post-copy: the rest goes at full bandwidth whatever the guest dirties, and stays flagged', () => {
    const s = start({ dirtyRate: 4 * GIB });
    advancePrecopy(s, 5_500);
    forceCompletion(s, 'postcopy');
    forceCompletion(s, 'pause');
    expect(s).toMatchObject({ stage: 'postcopy', postcopy: true, paused: false });
    expect(runUntil(s, () => isCompleted(s))).toBeCloseTo(1000, -1);
    expect(s).toMatchObject({ stage: 'completed', postcopy: true });
  });

  it("auto-converge throttles the guest by QEMU's steps at each pass that does not converge, until it converges", () => {
    const s = start({ dirtyRate: 2 * GIB, autoConverge: true });
    advancePrecopy(s, 1000);
    expect(s.throttlePercent).toBe(THROTTLE_INITIAL);
    advancePrecopy(s, 1000);
    expect(s.throttlePercent).toBe(THROTTLE_INITIAL + THROTTLE_INCREMENT);
    runUntil(s, () => isCompleted(s), 10);
    expect(isCompleted(s)).toBe(true);
    expect(s.throttlePercent).toBeLessThanOrEqual(THROTTLE_MAX);
    expect(s.dirtyRate * (1 - s.throttlePercent / 100)).toBeLessThan(GIB);
  });

  it('a larger allowed downtime takes effect at once, mid-pass', () => {
    const s = start({ dirtyRate: 900 * MIB, maxDowntimeMs: 100 });
    advancePrecopy(s, 5000);
    expect(s.stage).toBe('precopy');
    s.maxDowntimeMs = 1000;
    advancePrecopy(s, 0.001);
    expect(s.stage).toBe('switchover');
  });

  it('never lowers processed or elapsed, whatever the steps and changes', () => {
    const s = start({ dirtyRate: 700 * MIB, maxDowntimeMs: 10, autoConverge: true });
    let [processed, elapsed] = [0, 0];
    for (let i = 0; i < 2000 && !isCompleted(s); i++) {
      advancePrecopy(s, (i * 7919) % 97);
      if (i === 500) s.maxDowntimeMs = 30;
      expect(s.processed).toBeGreaterThanOrEqual(processed);
      expect(s.elapsedMs).toBeGreaterThanOrEqual(elapsed);
      [processed, elapsed] = [s.processed, s.elapsedMs];
    }
    expect(isCompleted(s)).toBe(true);
  });

  it('completes an empty RAM at once and refuses nonsense', () => {
    const s = start({ ramBytes: 0 });
    advancePrecopy(s, 0);
    expect(isCompleted(s)).toBe(true);
    expect(() => start({ bandwidth: 0 })).toThrow(RangeError);
    expect(() => start({ dirtyRate: -1 })).toThrow(RangeError);
    expect(() => start({ maxDowntimeMs: Number.NaN })).toThrow(RangeError);
  });
});
