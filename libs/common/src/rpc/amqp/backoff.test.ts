import { backoffDelay, checkBackoff, DEFAULT_BACKOFF } from './backoff';

describe('reconnect backoff', () => {
  const opts = { initialDelayMs: 100, maxDelayMs: 1000, factor: 2, jitter: 0.2 };
  const middle = () => 0.5;

  it('doubles from the initial delay up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, opts, middle))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('spreads each delay by the jitter without exceeding the cap', () => {
    expect(backoffDelay(1, opts, () => 0)).toBe(80);
    expect(backoffDelay(1, opts, () => 0.999999)).toBe(120);
    expect(backoffDelay(20, opts, () => 0.999999)).toBe(1000);
    expect(backoffDelay(20, opts, () => 0)).toBe(800);
  });

  it('validates its options', () => {
    expect(checkBackoff(DEFAULT_BACKOFF)).toEqual(DEFAULT_BACKOFF);
    expect(() => checkBackoff({ ...opts, maxDelayMs: 50 })).toThrow(TypeError);
    expect(() => checkBackoff({ ...opts, jitter: 2 })).toThrow(TypeError);
  });
});
