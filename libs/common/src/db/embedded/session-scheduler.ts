// Shares PGlite's single session among socket connections: a connection holds it from its first message until
// PGlite is ready for a new query outside any transaction; the others' messages wait their turn.
import type { Logger } from '../../log';

/** Runs one wire-protocol message on the session and returns PGlite's answer. */
export type ProtocolExec = (message: Uint8Array) => Promise<Uint8Array>;

const TERMINATE = 0x58; // 'X'
const READY_FOR_QUERY = 0x5a; // 'Z'
const SYNC = Uint8Array.of(0x53, 0, 0, 0, 4);

/** A simple-query ('Q') message. */
export function simpleQuery(sql: string): Uint8Array {
  const text = Buffer.from(`${sql}\0`, 'utf8');
  const msg = Buffer.alloc(5 + text.length);
  msg.write('Q', 0, 'latin1');
  msg.writeInt32BE(4 + text.length, 1);
  text.copy(msg, 5);
  return new Uint8Array(msg);
}

/**
 * The transaction status of a ReadyForQuery closing `out` ('I' idle, 'T' in a transaction, 'E' in a
 * failed one), or null when the answer does not end a query cycle (more of the cycle is still to come).
 */
export function readyForQueryStatus(out: Uint8Array): 'I' | 'T' | 'E' | null {
  const n = out.length;
  if (n < 6 || out[n - 6] !== READY_FOR_QUERY || out[n - 5] !== 0 || out[n - 4] !== 0 || out[n - 3] !== 0 || out[n - 2] !== 5) return null;
  const status = String.fromCharCode(out[n - 1]);
  return status === 'I' || status === 'T' || status === 'E' ? status : null;
}

interface Waiting {
  handlerId: number;
  message: Uint8Array;
  onData: (data: Uint8Array) => void;
  resolve: (bytes: number) => void;
  reject: (err: Error) => void;
}

export interface SessionSchedulerOptions {
  log: Logger;
  /** How long an owner may hold the session idle while others wait before it is disconnected. */
  ownerIdleMs: number;
  /** Disconnects a connection (its close then releases the session). */
  evict: (handlerId: number) => void;
}

/**
 * Why not pglite-socket's own queue: it interleaves connections message by message, so one client's
 * Parse can land between another's Parse and Bind (both use the unnamed statement) and a query runs with
 * the wrong statement or fails. This scheduler switches connections only at query-cycle boundaries.
 * It implements the queue contract PGLiteSocketHandler calls (enqueue, clearQueueForHandler,
 * clearTransactionIfNeeded).
 */
export class SessionScheduler {
  private readonly waiting: Waiting[] = [];
  /** The connection holding the session (mid-cycle or inside a transaction); null when it is free. */
  private owner: number | null = null;
  /** The owner disconnected while holding the session; it is reset before anyone else runs. */
  private ownerGone = false;
  private pumping = false;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly exec: ProtocolExec, private readonly opts: SessionSchedulerOptions) {}

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    // Terminate is not PGlite's business (it would end the one shared session); the socket's close follows.
    if (message[0] === TERMINATE) return Promise.resolve(0);
    if (handlerId === this.owner) this.stopIdleTimer();
    return new Promise<number>((resolve, reject) => {
      this.waiting.push({ handlerId, message, onData, resolve, reject });
      void this.pump();
    });
  }

  clearQueueForHandler(handlerId: number): void {
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      if (this.waiting[i].handlerId !== handlerId) continue;
      const [gone] = this.waiting.splice(i, 1);
      gone.reject(new Error('connection closed'));
    }
  }

  /** Called when a connection goes away: if it held the session, roll it back and hand the session on. */
  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (handlerId !== this.owner) return;
    this.ownerGone = true;
    await this.pump();
  }

  getQueueLength(): number {
    return this.waiting.length;
  }

  /** Rejects everything still waiting (the server is stopping). */
  close(): void {
    this.stopIdleTimer();
    for (const w of this.waiting.splice(0)) w.reject(new Error('embedded database stopping'));
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        if (this.ownerGone) await this.releaseAbandonedSession();
        const next = this.takeNext();
        if (!next) break;
        await this.run(next);
      }
    } finally {
      this.pumping = false;
    }
    this.armIdleTimer();
  }

  private takeNext(): Waiting | undefined {
    const i = this.owner === null ? 0 : this.waiting.findIndex((w) => w.handlerId === this.owner);
    return i >= 0 && i < this.waiting.length ? this.waiting.splice(i, 1)[0] : undefined;
  }

  private async run(item: Waiting): Promise<void> {
    this.owner = item.handlerId;
    let out: Uint8Array;
    try {
      out = await this.exec(item.message);
    } catch (err) {
      item.reject(err as Error);
      this.ownerGone = true;
      return;
    }
    if (out.length > 0) item.onData(out);
    if (readyForQueryStatus(out) === 'I') this.owner = null;
    item.resolve(out.length);
  }

  /** Ends whatever the departed owner left open: a half-sent extended query (Sync) and a transaction (ROLLBACK). */
  private async releaseAbandonedSession(): Promise<void> {
    try {
      const status = readyForQueryStatus(await this.exec(SYNC));
      if (status === 'T' || status === 'E') await this.exec(simpleQuery('ROLLBACK'));
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, 'could not reset the embedded database session');
    }
    this.owner = null;
    this.ownerGone = false;
  }

  private armIdleTimer(): void {
    const owner = this.owner;
    if (owner === null || this.idleTimer || !this.waiting.some((w) => w.handlerId !== owner)) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.owner !== owner) return;
      this.opts.log.warn({ connection: owner, waiting: this.waiting.length }, 'embedded database: a connection held a transaction open while others waited; disconnecting it');
      this.opts.evict(owner);
    }, this.opts.ownerIdleMs);
    this.idleTimer.unref();
  }

  private stopIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}
