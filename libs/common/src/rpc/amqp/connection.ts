// One broker connection that keeps itself alive: reconnects with backoff and re-runs every setup hook on each new session.
import { connect, type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { Logger } from '../../log';
import { MessagingUnavailable } from '../errors';
import type { TransportState } from '../transport';
import { backoffDelay, type BackoffOptions } from './backoff';
import { connectionUrl, redactUrl } from './url';

/** Bounds the TCP connect and AMQP handshake of one attempt. */
const ATTEMPT_TIMEOUT_MS = 10_000;

/** One connection and its publishing channels; replaced, never repaired, when anything in it breaks. */
export interface AmqpSession {
  readonly id: number;
  readonly model: ChannelModel;
  /** Calls and replies: no confirms, nothing waits on the broker. */
  readonly channel: Channel;
  /** Casts: publisher confirms. */
  readonly confirm: ConfirmChannel;
  /** False as soon as the connection or one of its channels has closed. */
  readonly alive: boolean;
}

/** Declares topology and starts consumers on a fresh session; runs again after every reconnection. */
export type SessionHook = (session: AmqpSession) => Promise<void>;

class Session implements AmqpSession {
  alive = true;
  retired = false;
  channel!: Channel;
  confirm!: ConfirmChannel;

  constructor(
    readonly id: number,
    readonly model: ChannelModel,
  ) {}
}

export class AmqpConnection {
  private session?: Session;
  private readonly hooks = new Set<SessionHook>();
  private readonly waiters = new Set<() => void>();
  private readonly stateListeners = new Set<(state: TransportState) => void>();
  private readonly url: string;
  private readonly safeUrl: string;
  private loop?: Promise<void>;
  private reconnecting = false;
  private closed = false;
  private everConnected = false;
  private lostAt = 0;
  private nextId = 1;
  private lastError?: Error;
  private wake?: () => void;

  constructor(
    url: string,
    private readonly backoff: BackoffOptions,
    private readonly log: Logger,
  ) {
    this.url = connectionUrl(url);
    this.safeUrl = redactUrl(url);
  }

  /** The live session, if any. */
  get current(): AmqpSession | undefined {
    return this.session?.alive ? this.session : undefined;
  }

  get brokerUrl(): string {
    return this.safeUrl;
  }

  /** Connects, retrying with backoff; MessagingUnavailable when still not connected after timeoutMs. */
  async open(timeoutMs: number): Promise<void> {
    this.startLoop();
    if (await this.waitForSession(Date.now() + timeoutMs)) return;
    const reason = this.lastError ? `: ${this.lastError.message}` : '';
    await this.close();
    throw new MessagingUnavailable(`cannot connect to the message broker at ${this.safeUrl} within ${timeoutMs} ms${reason}`);
  }

  /** The live session, waiting for a reconnection until deadline (epoch ms); undefined if none by then or closed. */
  async waitForSession(deadline: number): Promise<AmqpSession | undefined> {
    for (;;) {
      const s = this.current;
      if (s || this.closed || Date.now() >= deadline) return s;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, deadline - Date.now());
        this.waiters.add(done);
      });
    }
  }

  /** Runs hook on the live session now (if any) and on every later one. Rejects if it fails on the live session. */
  async addHook(hook: SessionHook): Promise<void> {
    this.hooks.add(hook);
    const s = this.current;
    if (!s) return;
    try {
      await hook(s);
    } catch (err) {
      // When the session died meanwhile, the next one runs the hook; only a failure on a healthy session is real.
      if (s.alive && !this.closed) {
        this.hooks.delete(hook);
        throw err;
      }
    }
  }

  removeHook(hook: SessionHook): void {
    this.hooks.delete(hook);
  }

  onStateChange(listener: (state: TransportState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Gives up on session (a channel broke while the connection lives) and reconnects from scratch. */
  recycle(session: AmqpSession, reason: string): void {
    if (session instanceof Session) this.retire(session, reason);
  }

  /** Stops reconnecting and closes the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake?.();
    const s = this.session;
    this.session = undefined;
    for (const waiter of [...this.waiters]) waiter();
    if (s) {
      s.alive = false;
      s.retired = true;
      await s.model.close().catch(() => undefined);
    }
    await this.loop;
    if (s) this.log.info({ url: this.safeUrl }, 'closed the connection to the message broker');
  }

  private startLoop(): void {
    if (this.reconnecting || this.closed) return;
    this.reconnecting = true;
    this.loop = this.reconnect();
  }

  private async reconnect(): Promise<void> {
    try {
      for (let attempt = 1; !this.closed; attempt++) {
        try {
          await this.establish(attempt);
          return;
        } catch (err) {
          this.lastError = err instanceof Error ? err : new Error(String(err));
          if (this.closed) return;
          const delay = backoffDelay(attempt, this.backoff);
          this.log.warn({ url: this.safeUrl, attempt, retry_in_ms: delay, err: this.lastError.message }, 'cannot connect to the message broker');
          await this.sleep(delay);
        }
      }
    } finally {
      // Cleared in the same turn the session is committed, so a loss right after always starts a new loop.
      this.reconnecting = false;
    }
  }

  private async establish(attempt: number): Promise<void> {
    const model = await connect(this.url, {
      noDelay: true,
      timeout: ATTEMPT_TIMEOUT_MS,
      clientProperties: { connection_name: `ferry pid ${process.pid}` },
    });
    const session = new Session(this.nextId++, model);
    // The close event that follows says the same at warn level, with the reason.
    model.on('error', (err: Error) => this.log.debug({ url: this.safeUrl, err: err.message }, 'message broker connection error'));
    model.on('close', (err?: Error) => this.retire(session, err ? err.message : 'connection closed'));
    model.on('blocked', (reason: string) => this.log.warn({ reason }, 'message broker blocks publishing'));
    model.on('unblocked', () => this.log.info('message broker accepts publishing again'));
    try {
      session.channel = this.watch(session, await model.createChannel(), 'publish channel');
      session.confirm = this.watch(session, await model.createConfirmChannel(), 'confirm channel');
      // A Set iterates over hooks added while earlier ones run, so a server registering now is not missed.
      for (const hook of this.hooks) {
        if (this.closed || !session.alive) break;
        await hook(session);
      }
      if (this.closed || !session.alive) throw new Error('connection closed during setup');
    } catch (err) {
      session.alive = false;
      session.retired = true;
      await model.close().catch(() => undefined);
      throw err;
    }
    // Nothing awaits between the last hook and here, so no hook can slip in between.
    this.session = session;
    const downtime = this.everConnected ? { downtime_ms: Date.now() - this.lostAt } : {};
    this.log.info({ url: this.safeUrl, attempt, ...downtime }, this.everConnected ? 'reconnected to the message broker' : 'connected to the message broker');
    this.everConnected = true;
    this.lastError = undefined;
    for (const waiter of [...this.waiters]) waiter();
    this.emit('connected');
  }

  private watch<C extends Channel>(session: Session, channel: C, what: string): C {
    channel.on('error', (err: Error) => this.log.warn({ err: err.message }, `message broker closed the ${what}`));
    channel.on('close', () => {
      // Unusable at once; the reason is settled a turn later, after the connection's own close event (if any).
      session.alive = false;
      setImmediate(() => this.retire(session, `${what} closed`));
    });
    return channel;
  }

  private retire(session: Session, reason: string): void {
    session.alive = false;
    if (session.retired) return;
    session.retired = true;
    void session.model.close().catch(() => undefined);
    if (this.session !== session || this.closed) return;
    this.session = undefined;
    this.lostAt = Date.now();
    this.log.warn({ url: this.safeUrl, reason }, 'lost the connection to the message broker; reconnecting');
    this.emit('disconnected');
    this.startLoop();
  }

  private emit(state: TransportState): void {
    for (const listener of [...this.stateListeners]) {
      try {
        listener(state);
      } catch (err) {
        this.log.error({ err }, 'transport state listener failed');
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
