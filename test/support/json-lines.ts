// Reading a stream of JSON lines (GET /os-ferry-bus, `ferry bus tail --json`) as it arrives.
import type { Readable } from 'node:stream';

/** Parsed records in arrival order, and a way to wait for one that matches. */
export class JsonLines<T = Record<string, unknown>> {
  readonly records: T[] = [];
  private rest = '';
  private waiters = new Set<() => void>();

  /** Feeds a chunk of text; complete non-blank lines become records. */
  feed(text: string): void {
    const lines = (this.rest + text).split('\n');
    this.rest = lines.pop()!;
    for (const line of lines) if (line.trim() !== '') this.records.push(JSON.parse(line) as T);
    for (const w of this.waiters) w();
  }

  follow(stream: Readable | ReadableStream<Uint8Array>): void {
    if ('getReader' in stream) {
      const decoder = new TextDecoder();
      void (async () => {
        try {
          for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) this.feed(decoder.decode(chunk, { stream: true }));
        } catch {
          // aborted by the test
        }
      })();
    } else {
      stream.on('data', (c: Buffer) => this.feed(c.toString('utf8')));
    }
  }

  /** The first record that matches, waiting up to timeoutMs for it. */
  waitFor(match: (r: T) => boolean, timeoutMs = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.records.find(match);
        if (!found) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no matching record within ${timeoutMs} ms; got ${JSON.stringify(this.records).slice(0, 2000)}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }
}
