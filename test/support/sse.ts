// A server-sent-events client for tests: opens a stream with fetch (any headers, e.g. a cookie), records every event
// and comment as they arrive, and lets a test wait for a condition on them or for the server to end the stream.
import { createParser, type EventSourceMessage } from 'eventsource-parser';

export interface SseOpenResult {
  status: number;
  headers: Headers;
  /** Present when the server answered 200 with an event stream. */
  stream?: SseStream;
  /** The body of any other answer. */
  body?: string;
}

export class SseStream {
  readonly events: EventSourceMessage[] = [];
  comments = 0;
  /** Resolves when the server ends the stream (or the client closes it). */
  readonly ended: Promise<void>;
  private finished = false;
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly controller: AbortController, body: ReadableStream<Uint8Array>) {
    const parser = createParser({
      onEvent: (e) => { this.events.push(e); this.wake(); },
      onComment: () => { this.comments++; this.wake(); },
    });
    this.ended = (async () => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) parser.feed(decoder.decode(chunk, { stream: true }));
      } catch {
        // aborted by close()
      } finally {
        this.finished = true;
        this.wake();
      }
    })();
  }

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseOpenResult> {
    const controller = new AbortController();
    const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
    if (res.status !== 200 || !res.body) return { status: res.status, headers: res.headers, body: await res.text() };
    return { status: res.status, headers: res.headers, stream: new SseStream(controller, res.body) };
  }

  get isEnded(): boolean {
    return this.finished;
  }

  /** The data of every `snapshot` event so far, parsed. */
  snapshots<T = unknown>(): { id: string; data: T }[] {
    return this.events.filter((e) => e.event === 'snapshot').map((e) => ({ id: e.id ?? '', data: JSON.parse(e.data) as T }));
  }

  /** Waits until check() holds (checked on every event and comment), or throws after timeoutMs. */
  async waitFor(check: () => boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
    if (check()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`SSE stream: ${what} not met within ${timeoutMs} ms (${this.events.length} events, ended ${this.finished})`));
      }, timeoutMs);
      const waiter = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve();
      };
      this.waiters.add(waiter);
    });
  }

  async close(): Promise<void> {
    this.controller.abort();
    await this.ended;
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}
