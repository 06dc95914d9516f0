// Benchmark instrumentation: a timeline of one move's statements and messages, for seeing where its latency goes.
import { performance } from 'node:perf_hooks';

export class Timeline {
  private events: { t: number; label: string }[] | undefined;
  private origin = 0;

  start(): void {
    this.events = [];
    this.origin = performance.now();
  }

  get on(): boolean {
    return this.events !== undefined;
  }

  mark(label: string): void {
    this.events?.push({ t: performance.now() - this.origin, label });
  }

  stop(): { t: number; label: string }[] {
    const out = this.events ?? [];
    this.events = undefined;
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
        timeline.mark(`driver> ${name}`);
        const out = method.apply(target, args);
        if (out instanceof Promise) return out.finally(() => timeline.mark(`driver< ${name}`));
        timeline.mark(`driver< ${name}`);
        return out;
      };
    },
  });
}
