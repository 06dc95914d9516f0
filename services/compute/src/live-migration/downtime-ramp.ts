// Nova's downtime ramp: the downtime a live migration allows grows in steps from a small share of the maximum up to
// the maximum, one step every `delay` seconds per GiB of RAM; and the completion timeout, also per GiB.

export interface RampSettings {
  /** The final (largest) downtime allowed, ms. */
  maxDowntimeMs: number;
  steps: number;
  /** Seconds per GiB of guest RAM between steps. */
  delaySecondsPerGib: number;
}

/** [seconds since the job started, downtime ms] for every step, as Nova's _migration_downtime_steps computes them. */
export function downtimeSteps(s: RampSettings, ramBytes: number): [number, number][] {
  const gib = Math.max(ramBytes / 1024 ** 3, 1 / 1024);
  const delay = s.delaySecondsPerGib * gib;
  const offset = s.maxDowntimeMs / (s.steps + 1);
  const base = (s.maxDowntimeMs - offset) ** (1 / s.steps);
  const out: [number, number][] = [];
  for (let i = 0; i <= s.steps; i++) // Rounded, not truncated as in Nova: its last step comes out at 499 ms of a 500 ms maximum.
    out.push([Math.trunc(delay * i), Math.round(offset + base ** i)]);
  return out;
}

/** The downtime allowed at elapsedSeconds: the last step already reached. */
export function downtimeAt(steps: readonly [number, number][], elapsedSeconds: number): number {
  let current = steps[0]![1];
  for (const [at, ms] of steps) if (elapsedSeconds >= at) current = ms;
  return current;
}

/** Seconds after which the timeout action applies (0: never): completion timeout per GiB × RAM GiB. */
export function completionTimeoutSeconds(timeoutPerGib: number, ramBytes: number): number {
  if (timeoutPerGib <= 0) return 0;
  return timeoutPerGib * Math.max(ramBytes / 1024 ** 3, 1 / 1024);
}
