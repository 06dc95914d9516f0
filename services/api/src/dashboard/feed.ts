// One read loop shared by every connected browser: it reads the snapshot on an interval while anyone is connected,
// pushes it as a server-sent event only when it changed (and a comment now and then to keep idle connections open),
// drops a subscriber whose permission ended, and stops when the last one leaves.
import { Counter, Gauge } from 'prom-client';
import type { Logger } from '@ferry/common/log';
import { processMetrics } from '@ferry/common/metrics';

const reads = new Counter({
  name: 'ferry_dashboard_reads_total',
  help: 'Snapshots the live dashboard read from the database (one read serves every connected browser).',
  registers: [processMetrics],
});
const connected = new Gauge({
  name: 'ferry_dashboard_clients',
  help: 'Browsers connected to the live dashboard\'s event stream.',
  registers: [processMetrics],
});

/** Where one subscriber's events go (its HTTP response). */
export interface FeedSink {
  write(frame: string): void;
  end(): void;
}

export interface SnapshotFeedOptions<T> {
  read: () => Promise<T>;
  intervalMs: number;
  /** Milliseconds between keep-alive comments. */
  heartbeatMs: number;
  log: Logger;
}

interface Subscriber {
  sink: FeedSink;
  /** False once the subscriber may no longer see the feed (its token expired or was revoked). */
  allowed: () => Promise<boolean>;
}

/** One server-sent event: the snapshot's sequence number as its id. */
export function snapshotEvent(seq: number, json: string): string {
  return `id: ${seq}\nevent: snapshot\ndata: ${json}\n\n`;
}

export const KEEPALIVE_FRAME = ': keepalive\n\n';

export class SnapshotFeed<T> {
  private readonly subscribers = new Set<Subscriber>();
  private latest: { seq: number; json: string } | undefined;
  private seq = 0;
  private tickTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** The loop's current pass, if one runs. */
  private pass: Promise<void> | undefined;

  constructor(private readonly opts: SnapshotFeedOptions<T>) {}

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Adds a subscriber (it gets the latest snapshot at once, if there is one); answers the function that removes it. */
  subscribe(sink: FeedSink, allowed: () => Promise<boolean>): () => void {
    const sub: Subscriber = { sink, allowed };
    this.subscribers.add(sub);
    connected.inc();
    if (this.latest) sink.write(snapshotEvent(this.latest.seq, this.latest.json));
    if (this.subscribers.size === 1) this.start();
    return () => this.remove(sub);
  }

  /** Ends every subscriber's stream and stops the loop (the API is closing). */
  async close(): Promise<void> {
    for (const sub of [...this.subscribers]) this.remove(sub);
    await this.pass;
  }

  private remove(sub: Subscriber): void {
    if (!this.subscribers.delete(sub)) return;
    connected.dec();
    sub.sink.end();
    if (this.subscribers.size === 0) this.stop();
  }

  private start(): void {
    this.heartbeatTimer = setInterval(() => {
      for (const sub of this.subscribers) sub.sink.write(KEEPALIVE_FRAME);
    }, this.opts.heartbeatMs);
    this.schedule(0);
  }

  private stop(): void {
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.tickTimer);
    this.heartbeatTimer = undefined;
    this.tickTimer = undefined;
    // What the next first subscriber sees must be read afresh, not what was true when the last one left.
    this.latest = undefined;
  }

  private schedule(delayMs: number): void {
    this.tickTimer = setTimeout(() => {
      this.tickTimer = undefined;
      // A pass still running (the loop stopped and started again meanwhile) schedules the next one when it ends.
      if (this.pass) return;
      this.pass = this.tick().finally(() => {
        this.pass = undefined;
        if (this.subscribers.size > 0 && !this.tickTimer) this.schedule(this.opts.intervalMs);
      });
    }, delayMs);
  }

  private async tick(): Promise<void> {
    try {
      reads.inc();
      const json = JSON.stringify(await this.opts.read());
      if (this.subscribers.size === 0) return;
      if (json !== this.latest?.json) {
        this.latest = { seq: ++this.seq, json };
        const frame = snapshotEvent(this.seq, json);
        for (const sub of this.subscribers) sub.sink.write(frame);
      }
    } catch (err) {
      this.opts.log.warn({ err }, 'dashboard snapshot read failed; retrying at the next interval');
    }
    await this.dropRefused();
  }

  private async dropRefused(): Promise<void> {
    const subs = [...this.subscribers];
    const verdicts = await Promise.all(subs.map((s) => s.allowed().catch(() => false)));
    subs.forEach((s, i) => {
      if (!verdicts[i]) this.remove(s);
    });
  }
}
