// A client of QEMU's machine protocol (QMP) over a unix socket: the greeting, capability negotiation, commands with
// ids and timeouts, and events with QEMU's own timestamps. Messages are JSON objects, one per line. A client may
// attach to a running VM's socket at any time (after the compute restarted, say): nothing here assumes it started
// the VM. One command's failure never breaks the connection; the connection ending fails every command in flight.
import { EventEmitter, once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { DriverError } from '../errors';

/** What QEMU says first: its version and the capabilities it offers. */
export interface QmpGreeting {
  version: { qemu: { major: number; minor: number; micro: number }; package: string };
  capabilities: string[];
}

/** An asynchronous event (STOP, RESUME, MIGRATION, SHUTDOWN, BLOCK_JOB_READY…). */
export interface QmpEvent {
  event: string;
  data: Record<string, unknown>;
  /** When QEMU emitted it, in milliseconds since the epoch (from QEMU's seconds and microseconds). */
  at: number;
}

/** QEMU answered a command with an error (e.g. class CommandNotFound, GenericError). */
export class QmpCommandError extends DriverError {
  override readonly code = 'QmpCommandError';
}

/** No answer within the command's timeout (the answer, if it ever comes, is dropped). */
export class QmpTimeout extends DriverError {
  override readonly code = 'QmpTimeout';
}

/** The socket could not be reached, or closed: QEMU exited, or another client holds the monitor. */
export class QmpDisconnected extends DriverError {
  override readonly code = 'QmpDisconnected';
}

export interface QmpOptions {
  /** Milliseconds for the connection, the greeting and capability negotiation (default 5000). */
  connectTimeoutMs?: number;
  /** Default milliseconds a command may take (default 10000); each call may set its own. */
  commandTimeoutMs?: number;
}

interface Pending {
  command: string;
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

type Message =
  | { QMP: QmpGreeting }
  | { return: unknown; id?: string }
  | { error: { class: string; desc: string }; id?: string }
  | { event: string; data?: Record<string, unknown>; timestamp: { seconds: number; microseconds: number } };

export class QmpClient extends EventEmitter<{ event: [QmpEvent]; close: [] }> {
  private readonly pending = new Map<string, Pending>();
  private nextId = 1;
  private ended = false;
  /** Resolves once the connection has ended, for whatever reason. */
  readonly closed: Promise<void>;

  private constructor(
    private readonly socket: Socket, readonly path: string, readonly greeting: QmpGreeting, private readonly commandTimeoutMs: number,
    lines: AsyncIterable<string>,
  ) {
    super();
    this.closed = this.read(lines);
  }

  /** Connects to the QMP socket at path, reads the greeting and leaves negotiation mode, so commands work. */
  static async connect(path: string, opts: QmpOptions = {}): Promise<QmpClient> {
    const connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
    const socket = connect(path);
    socket.setEncoding('utf8');
    const reader = createInterface({ input: socket, crlfDelay: Infinity });
    // A socket destroyed (not ended) by either side must end the reading too.
    socket.once('close', () => reader.close());
    const lines = reader[Symbol.asyncIterator]();
    const timer = setTimeout(() => socket.destroy(new QmpTimeout(`QMP at ${path}: no greeting within ${connectTimeoutMs} ms`)), connectTimeoutMs);
    try {
      await once(socket, 'connect');
      const first = await lines.next();
      if (first.done) throw new QmpDisconnected(`QMP at ${path} closed before its greeting (another client may hold the monitor)`);
      const greeting = (parse(first.value, path) as { QMP?: QmpGreeting }).QMP;
      if (!greeting) throw new QmpDisconnected(`QMP at ${path}: expected a greeting, got ${first.value.slice(0, 200)}`);
      const client = new QmpClient(socket, path, greeting, opts.commandTimeoutMs ?? 10_000, { [Symbol.asyncIterator]: () => lines });
      await client.execute('qmp_capabilities', undefined, { timeoutMs: connectTimeoutMs });
      return client;
    } catch (err) {
      socket.destroy();
      if (err instanceof DriverError) throw err;
      throw new QmpDisconnected(`QMP at ${path}: ${(err as Error).message}`, { path });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs command with args and resolves with its `return` value; rejects with QmpCommandError, QmpTimeout or QmpDisconnected. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, opts: { timeoutMs?: number } = {}): Promise<T> {
    if (this.ended) return Promise.reject(new QmpDisconnected(`QMP at ${this.path} is closed; cannot run ${command}`, { path: this.path, command }));
    const id = `ferry-${this.nextId++}`;
    const timeoutMs = opts.timeoutMs ?? this.commandTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new QmpTimeout(`QMP at ${this.path}: ${command} got no answer within ${timeoutMs} ms`, { path: this.path, command }));
      }, timeoutMs);
      this.pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject, timer });
      this.socket.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id })}\n`);
    });
  }

  /**
   * The next event named `name` that satisfies match, emitted from now on; rejects after timeoutMs or when the
   * connection ends. Subscribe before running the command that causes it.
   */
  waitForEvent(name: string, timeoutMs: number, match: (e: QmpEvent) => boolean = () => true): Promise<QmpEvent> {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.off('event', onEvent);
        this.off('close', onClose);
      };
      const onEvent = (e: QmpEvent) => {
        if (e.event !== name || !match(e)) return;
        done();
        resolve(e);
      };
      const onClose = () => {
        done();
        reject(new QmpDisconnected(`QMP at ${this.path} closed while waiting for ${name}`, { path: this.path }));
      };
      const timer = setTimeout(() => {
        done();
        reject(new QmpTimeout(`QMP at ${this.path}: no ${name} event within ${timeoutMs} ms`, { path: this.path }));
      }, timeoutMs);
      if (this.ended) return onClose();
      this.on('event', onEvent);
      this.on('close', onClose);
    });
  }

  /** Closes the connection (QEMU goes on running); commands in flight fail with QmpDisconnected. */
  async close(): Promise<void> {
    this.socket.end();
    this.socket.destroy();
    await this.closed;
  }

  private async read(lines: AsyncIterable<string>): Promise<void> {
    try {
      for await (const line of lines) {
        if (line.trim()) this.dispatch(parse(line, this.path));
      }
    } catch {
      // A socket error ends the connection like a close.
    } finally {
      this.ended = true;
      for (const [id, p] of this.pending) {
        clearTimeout(p.timer);
        p.reject(new QmpDisconnected(`QMP at ${this.path} closed before answering ${p.command}`, { path: this.path, command: p.command }));
        this.pending.delete(id);
      }
      this.emit('close');
    }
  }

  private dispatch(msg: Message): void {
    if ('event' in msg) {
      this.emit('event', { event: msg.event, data: msg.data ?? {}, at: msg.timestamp.seconds * 1000 + msg.timestamp.microseconds / 1000 });
      return;
    }
    if (!('id' in msg) || typeof msg.id !== 'string') return;
    const p = this.pending.get(msg.id);
    if (!p) return; // the answer of a command that already timed out
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    if ('error' in msg) {
      p.reject(new QmpCommandError(`QMP ${p.command} failed: ${msg.error.class}: ${msg.error.desc}`, { command: p.command, class: msg.error.class, desc: msg.error.desc }));
    } else {
      p.resolve(msg.return);
    }
  }
}

function parse(line: string, path: string): Message {
  try {
    return JSON.parse(line) as Message;
  } catch {
    throw new QmpDisconnected(`QMP at ${path} sent something that is not JSON: ${line.slice(0, 200)}`, { path });
  }
}
