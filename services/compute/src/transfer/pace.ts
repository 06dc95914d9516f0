// Holds a copy to a byte rate (a migration policy's bandwidth): after each piece handed on, it waits until the clock
// catches up with the bytes sent so far. Without a rate it never waits.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

export class Pacer {
  private sent = 0;
  private readonly started = performance.now();

  /** `signal` ends a wait early (the caller then sees its copy cancelled). */
  constructor(private readonly bytesPerSecond: number | undefined, private readonly signal?: AbortSignal) {}

  /** Counts `bytes` as sent, then waits while the bytes sent so far run ahead of the rate. */
  async account(bytes: number): Promise<void> {
    if (this.bytesPerSecond === undefined) return;
    this.sent += bytes;
    const aheadMs = (this.sent / this.bytesPerSecond) * 1000 - (performance.now() - this.started);
    if (aheadMs >= 1) await sleep(aheadMs, undefined, { signal: this.signal }).catch(() => undefined);
  }
}
