// Benchmark instrumentation: a timeline of one move's statements and messages, for seeing where its latency goes.
import { performance } from 'node:perf_hooks';

/** What a span on the timeline is: a statement, a driver call, or a cast from its sending to its receipt. */
export type SpanKind = 'sql' | 'driver' | 'cast';

export interface TimelineEvent {
  t: number;
  label: string;
}

export interface TimelineRecord {
  events: TimelineEvent[];
  /** Milliseconds in each kind of span, summed (spans that overlap count twice). */
  spent: Record<SpanKind, number>;
}

export class Timeline {
  private record: TimelineRecord | undefined;
  private origin = 0;
  /** Start times of the spans begun and not yet ended, by kind and key, oldest first. */
  private readonly open = new Map<string, number[]>();

  start(): void {
    this.record = { events: [], spent: { sql: 0, driver: 0, cast: 0 } };
    this.origin = performance.now();
    this.open.clear();
  }

  get on(): boolean {
    return this.record !== undefined;
  }

  mark(label: string): void {
    this.record?.events.push({ t: performance.now() - this.origin, label });
  }

  /** Marks `label` as the start of a span of `kind`; the next end() with the same kind and key closes it. */
  begin(kind: SpanKind, key: string, label: string): void {
    if (!this.record) return;
    this.mark(label);
    const id = `${kind} ${key}`;
    this.open.set(id, [...(this.open.get(id) ?? []), performance.now() - this.origin]);
  }

  end(kind: SpanKind, key: string, label: string): void {
    if (!this.record) return;
    this.mark(label);
    const started = this.open.get(`${kind} ${key}`)?.shift();
    if (started !== undefined) this.record.spent[kind] += performance.now() - this.origin - started;
  }

  stop(): TimelineRecord {
    const out = this.record ?? { events: [], spent: { sql: 0, driver: 0, cast: 0 } };
    this.record = undefined;
    return out;
  }
}

export const timeline = new Timeline();

/**
 * Whether this run traces (FERRY_BENCH_MOVES_TRACE=1). Only then do the SQL counter, the counting transport and the
 * bench cluster's drivers carry the timeline's hooks: a run that does not trace pays nothing for them.
 */
export const tracing = process.env.FERRY_BENCH_MOVES_TRACE === '1';

/** driver, with each method call marked on the timeline (start and end) while it records. */
export function timedDriver<T extends object>(driver: T): T {
  return new Proxy(driver, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const method = value as (...a: unknown[]) => unknown;
      return (...args: unknown[]) => {
        if (!timeline.on) return method.apply(target, args);
        // Marked before the call: a method's synchronous part (a state file read in place) counts as its time too.
        const name = String(prop);
        timeline.begin('driver', name, `driver> ${name}`);
        const out = method.apply(target, args);
        if (out instanceof Promise) return out.finally(() => timeline.end('driver', name, `driver< ${name}`));
        timeline.end('driver', name, `driver< ${name}`);
        return out;
      };
    },
  });
}
