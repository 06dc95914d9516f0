// A bus tail: a transport's tap, read as events, replies paired with their calls, filtered; and notices when the tap
// falls behind the bus or the bus drops messages for it.
import type { Transport } from '../transport';
import { describeTapped, type BusEvent } from './bus-event';
import { CallPairing } from './call-pairing';
import { matchesTailFilter, type BusTailFilter } from './tail-filter';
import type { BusTap, TapOptions, TapStats } from './tapped-message';

/** Said when the tail falls behind, catches up again, or the bus drops messages for it. */
export type TailNotice =
  | { readonly kind: 'behind'; readonly waiting: number }
  | { readonly kind: 'caught_up'; readonly waiting: number }
  | { readonly kind: 'dropped'; readonly count: number; readonly total: number };

export interface BusTailOptions {
  readonly filter: BusTailFilter;
  /** What the tap watches: topics and the servers known so far. */
  readonly tap: TapOptions;
  readonly onEvent: (event: BusEvent) => void;
  readonly onNotice: (notice: TailNotice) => void;
  /** How often to look at the tap's backlog; default 1000 ms. */
  readonly checkEveryMs?: number;
  /** Messages waiting past which the tail says it is behind; default 10,000 (a second of a busy bus). */
  readonly behindAt?: number;
}

export const DEFAULT_BEHIND_AT = 10_000;

export interface BusTail {
  stop(): Promise<void>;
}

export async function startBusTail(transport: Pick<Transport, 'tap'>, opts: BusTailOptions): Promise<BusTail> {
  const pairing = new CallPairing();
  const tap = await transport.tap((tapped) => {
    const event = pairing.pair(describeTapped(tapped), tapped.at);
    if (matchesTailFilter(event, opts.filter)) opts.onEvent(event);
  }, opts.tap);
  const monitor = new TailMonitor(opts.behindAt ?? DEFAULT_BEHIND_AT);
  let checking: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    checking = checking.then(() => check(tap, monitor, opts.onNotice));
  }, opts.checkEveryMs ?? 1000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await checking;
      await tap.stop();
    },
  };
}

async function check(tap: BusTap, monitor: TailMonitor, onNotice: (n: TailNotice) => void): Promise<void> {
  let stats: TapStats;
  try {
    stats = await tap.stats();
  } catch {
    return; // the tap is being re-made after a reconnection: look again next time
  }
  for (const notice of monitor.update(stats)) onNotice(notice);
}

/** Turns successive tap stats into notices: once when falling behind, once when caught up, and every drop. */
export class TailMonitor {
  private behind = false;
  private dropped = 0;

  constructor(private readonly behindAt: number) {}

  update(stats: TapStats): TailNotice[] {
    const notices: TailNotice[] = [];
    if (stats.dropped > this.dropped) notices.push({ kind: 'dropped', count: stats.dropped - this.dropped, total: stats.dropped });
    this.dropped = Math.max(this.dropped, stats.dropped);
    if (!this.behind && stats.waiting > this.behindAt) {
      this.behind = true;
      notices.push({ kind: 'behind', waiting: stats.waiting });
    } else if (this.behind && stats.waiting <= this.behindAt / 2) {
      this.behind = false;
      notices.push({ kind: 'caught_up', waiting: stats.waiting });
    }
    return notices;
  }
}
