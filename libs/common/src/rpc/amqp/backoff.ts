// Reconnect delays: exponential, capped, with jitter so a fleet does not reconnect in lockstep.

export interface BackoffOptions {
  /** Delay after the first failed attempt. */
  readonly initialDelayMs: number;
  /** No delay exceeds this, jitter included. */
  readonly maxDelayMs: number;
  readonly factor: number;
  /** Spread as a fraction of the delay: 0.2 → ±20 %. */
  readonly jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({ initialDelayMs: 200, maxDelayMs: 10_000, factor: 2, jitter: 0.2 });

/** How long to wait after failed attempt number `attempt` (1-based). */
export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const base = Math.min(opts.maxDelayMs, opts.initialDelayMs * opts.factor ** Math.max(0, attempt - 1));
  const spread = base * opts.jitter;
  return Math.round(Math.min(opts.maxDelayMs, Math.max(0, base - spread + random() * 2 * spread)));
}

export function checkBackoff(opts: BackoffOptions): BackoffOptions {
  const { initialDelayMs, maxDelayMs, factor, jitter } = opts;
  const ok = initialDelayMs >= 0 && maxDelayMs >= initialDelayMs && factor >= 1 && jitter >= 0 && jitter <= 1;
  if (!ok) throw new TypeError(`invalid reconnect backoff ${JSON.stringify(opts)}: need 0 ≤ initialDelayMs ≤ maxDelayMs, factor ≥ 1, 0 ≤ jitter ≤ 1`);
  return Object.freeze({ ...opts });
}
