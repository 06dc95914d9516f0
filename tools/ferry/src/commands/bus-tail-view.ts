// How `ferry bus tail` prints the bus: one line per message (coloured on a terminal, failures in red), or JSON lines;
// and what it says on stderr when it falls behind or the bus drops messages for it.
import type { BusEvent, TailNotice } from '@ferry/common/rpc';

const RESET = '\x1b[0m';
const STYLE = {
  call: '\x1b[36m', cast: '\x1b[34m', reply: '\x1b[32m', notification: '\x1b[35m', failure: '\x1b[1;31m', dim: '\x1b[2m',
} as const;

/** One line for event, without the newline; colour adds ANSI styles. */
export function formatEvent(e: BusEvent, colour = false): string {
  const paint = (style: keyof typeof STYLE, s: string) => (colour ? `${STYLE[style]}${s}${RESET}` : s);
  const what = e.method === null ? '?' : e.version === null ? e.method : `${e.method} v${e.version}`;
  const parts = [
    e.time.slice(11, 23),
    paint(e.kind, e.kind.padEnd(12)),
    `${e.sender ?? '?'} → ${e.target}`,
    what,
  ];
  if (e.latency_ms !== null) parts.push(`${latency(e.latency_ms)}`);
  if (e.instance !== null) parts.push(`instance ${e.instance}`);
  if (e.migration !== null) parts.push(`migration ${e.migration}`);
  if (e.request_id !== null) parts.push(paint('dim', e.request_id));
  if (e.failure !== null) parts.push(paint('failure', `FAILED ${e.failure.type}${e.failure.message ? `: ${e.failure.message}` : ''}`));
  return parts.join('  ');
}

function latency(ms: number): string {
  return ms < 10 ? `${ms.toFixed(2)} ms` : ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** What the tail says on stderr about itself. */
export function formatNotice(n: TailNotice): string {
  switch (n.kind) {
    case 'behind':
      return `ferry bus tail: falling behind the bus: ${n.waiting.toLocaleString('en')} messages waiting for the tail`;
    case 'caught_up':
      return `ferry bus tail: caught up (${n.waiting.toLocaleString('en')} waiting)`;
    case 'dropped':
      return `ferry bus tail: ${n.count.toLocaleString('en')} messages dropped before the tail could show them (${n.total.toLocaleString('en')} in all)`;
  }
}

/** Buffers lines and writes them once per turn of the event loop: at 10,000 messages/s a write each would dominate. */
export class LineWriter {
  private pending: string[] = [];
  private scheduled = false;

  constructor(private readonly out: NodeJS.WritableStream) {}

  line(text: string): void {
    this.pending.push(text);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const text = `${this.pending.join('\n')}\n`;
    this.pending = [];
    this.out.write(text);
  }
}
