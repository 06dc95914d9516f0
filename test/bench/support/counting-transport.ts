// Benchmark instrumentation: a transport that counts the casts and notifications it sends, and the tally it counts into.
import { timeline, tracing } from './timeline';
import { describeTarget, type Envelope, type NotificationMessage, type Target, type Transport } from '@ferry/common/rpc';

/** A tally at one moment: casts by method, notifications by event type, calls. */
export interface TallySnapshot {
  casts: Map<string, number>;
  notifications: Map<string, number>;
  calls: number;
}

/** Casts and notifications sent through the cluster's transports, by method and event type. */
export class MessageTally {
  readonly casts = new Map<string, number>();
  readonly notifications = new Map<string, number>();
  calls = 0;

  cast(method: string): void {
    this.casts.set(method, (this.casts.get(method) ?? 0) + 1);
  }

  notify(eventType: string): void {
    this.notifications.set(eventType, (this.notifications.get(eventType) ?? 0) + 1);
  }

  snapshot(): TallySnapshot {
    return { casts: new Map(this.casts), notifications: new Map(this.notifications), calls: this.calls };
  }
}

/** Two processes' tallies as one (e.g. the requester's and scheduler's plus the compute process's). */
export function addTallies(a: TallySnapshot, b: TallySnapshot): TallySnapshot {
  const add = (x: Map<string, number>, y: Map<string, number>) => {
    const out = new Map(x);
    for (const [k, n] of y) out.set(k, (out.get(k) ?? 0) + n);
    return out;
  };
  return { casts: add(a.casts, b.casts), notifications: add(a.notifications, b.notifications), calls: a.calls + b.calls };
}

/** A transport that counts what it sends and otherwise is the one it wraps. */
export class CountingTransport implements Transport {
  constructor(private readonly inner: Transport, private readonly tally: MessageTally) {}

  get connected(): boolean {
    return this.inner.connected;
  }

  call(target: Target, envelope: Envelope, timeoutMs: number): Promise<unknown> {
    this.tally.calls++;
    return this.inner.call(target, envelope, timeoutMs);
  }

  cast(target: Target, envelope: Envelope, timeoutMs: number): Promise<void> {
    this.tally.cast(envelope.method);
    if (!tracing) return this.inner.cast(target, envelope, timeoutMs);
    timeline.begin('cast', envelope.method, `cast> ${envelope.method}`);
    return this.inner.cast(target, envelope, timeoutMs).then(() => timeline.mark(`cast< ${envelope.method} confirmed`));
  }

  listen(...args: Parameters<Transport['listen']>): ReturnType<Transport['listen']> {
    if (!tracing) return this.inner.listen(...args);
    const [target, handler, opts] = args;
    return this.inner.listen(target, async (m) => {
      const method = (m.body as { method?: string })?.method ?? '?';
      timeline.end('cast', method, `recv ${method} on ${describeTarget(target)}`);
      try {
        await handler(m);
      } finally {
        timeline.mark('handler done');
      }
    }, opts);
  }

  notify(message: NotificationMessage): Promise<void> {
    this.tally.notify(message.event_type);
    if (tracing) timeline.mark(`notify ${message.event_type}`);
    return this.inner.notify(message);
  }

  listenNotifications(...args: Parameters<Transport['listenNotifications']>): ReturnType<Transport['listenNotifications']> {
    return this.inner.listenNotifications(...args);
  }

  tap(...args: Parameters<Transport['tap']>): ReturnType<Transport['tap']> {
    return this.inner.tap(...args);
  }

  onStateChange(...args: Parameters<Transport['onStateChange']>): ReturnType<Transport['onStateChange']> {
    return this.inner.onStateChange(...args);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
