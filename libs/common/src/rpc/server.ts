// RpcServer: consumes a topic's queues on one host and runs each message on its endpoints, in the request's log context.
import { FerryError } from '../domain/errors/ferry-error';
import { silentLogger, withLogContext, type Logger } from '../log';
import { countRpcRefusal, timeRpc, type RpcLabels } from '../metrics/rpc-metrics';
import { logBindings } from './context';
import type { ServedEndpoint } from './contract';
import { Dispatcher } from './dispatcher';
import { failureOf, failureType, parseEnvelope, type Envelope, type Reply } from './envelope';
import { NoSuchMethod } from './errors';
import { makeTarget, type ServerTarget } from './target';
import type { IncomingMessage, Listener, Transport } from './transport';

export const DEFAULT_CONCURRENCY = 16;

/** The method label of a refused message whose method no endpoint has. */
export const UNKNOWN_METHOD = '(unknown)';

export interface RpcServerOptions {
  readonly log?: Logger;
  /** How many casts run at once; default 16. */
  readonly concurrency?: number;
  /** How many calls run at once, on a window of their own that casts never take; default 16. */
  readonly callConcurrency?: number;
  /** Consume no call lane, as a server of a release before it (upgrade tests): calls then share the casts' window. */
  readonly withoutCallLane?: boolean;
}

export class RpcServer {
  private readonly target: ServerTarget;
  private readonly dispatcher: Dispatcher;
  private readonly log: Logger;
  private readonly concurrency: number;
  private readonly callConcurrency: number | undefined;
  private listener?: Listener;
  private starting = false;
  /** Handlers running now, for a stop that cannot wait for them all to say which did not finish. */
  private readonly running = new Set<RunningMessage>();

  constructor(
    private readonly transport: Transport,
    target: ServerTarget,
    endpoints: readonly ServedEndpoint[],
    opts: RpcServerOptions = {},
  ) {
    const checked = makeTarget(target);
    if (checked.server === undefined) throw new TypeError(`RPC server for ${checked.topic} needs a server name`);
    this.target = { topic: checked.topic, server: checked.server };
    this.dispatcher = new Dispatcher(endpoints);
    this.concurrency = windowSize('concurrency', opts.concurrency);
    this.callConcurrency = opts.withoutCallLane ? undefined : windowSize('callConcurrency', opts.callConcurrency);
    this.log = (opts.log ?? silentLogger()).child({ topic: this.target.topic, server: this.target.server });
  }

  async start(): Promise<void> {
    if (this.listener || this.starting) throw new Error(`RPC server ${this.target.topic}.${this.target.server} is already started`);
    this.starting = true;
    try {
      this.listener = await this.transport.listen(this.target, (m) => this.handle(m), {
        concurrency: this.concurrency,
        ...(this.callConcurrency !== undefined ? { callConcurrency: this.callConcurrency } : {}),
      });
    } finally {
      this.starting = false;
    }
    this.log.info({ concurrency: this.concurrency, call_concurrency: this.callConcurrency ?? null }, 'RPC server consuming');
  }

  /** Stops consuming and waits for the messages being handled. */
  async stop(): Promise<void> {
    const listener = this.listener;
    this.listener = undefined;
    if (!listener) return;
    await listener.stop();
    this.log.info('RPC server stopped');
  }

  /** The messages whose handlers are running now, e.g. "resize_instance (cast 1f3…, 12 s)". */
  runningMessages(): string[] {
    const now = performance.now();
    return [...this.running].map((m) => `${m.method} (${m.kind} ${m.msgId ?? '?'}, ${Math.round((now - m.started) / 1000)} s)`);
  }

  private handle(message: IncomingMessage): Promise<void> {
    let env: Envelope;
    try {
      env = parseEnvelope(message.body);
    } catch (err) {
      this.log.warn({ err: errorText(err) }, 'dropping malformed RPC message');
      this.sendReply(message, { failure: failureOf(err) }, 'malformed');
      return Promise.resolve();
    }
    return withLogContext(logBindings(env.context), () => this.run(env, message));
  }

  private async run(env: Envelope, message: IncomingMessage): Promise<void> {
    const started = performance.now();
    const debug = this.log.isLevelEnabled('debug');
    const kind = message.reply ? 'call' : 'cast';
    const fields = { method: env.method, version: env.version, kind, msg_id: env._msg_id ?? env._unique_id };
    const labels: RpcLabels = { topic: this.target.topic, method: env.method, kind };
    if (debug) this.log.debug({ ...fields, redelivered: message.redelivered || undefined }, 'RPC message received');
    let invoke: () => Promise<unknown>;
    try {
      invoke = this.dispatcher.admit(env);
    } catch (err) {
      // Refused before any endpoint code ran (unknown method, version or bad args): the sender's bug, and for a cast
      // this line is the only trace of it.
      this.log.warn({ ...fields, error_code: err instanceof FerryError ? err.code : undefined, err: errorText(err) }, 'RPC message rejected');
      // A method no endpoint has is counted under one name: senders must not mint label values.
      countRpcRefusal(err instanceof NoSuchMethod ? { ...labels, method: UNKNOWN_METHOD } : labels, failureType(err));
      this.sendReply(message, { failure: failureOf(err) }, env.method);
      return;
    }
    let reply: Reply;
    const running: RunningMessage = { method: env.method, kind: fields.kind, msgId: fields.msg_id, started };
    this.running.add(running);
    try {
      reply = { result: await timeRpc('server', labels, invoke(), failureType) };
      if (debug) this.log.debug({ ...fields, duration_ms: elapsed(started) }, 'RPC message handled');
    } catch (err) {
      reply = { failure: failureOf(err) };
      this.logFailure(fields, err, started);
    } finally {
      this.running.delete(running);
    }
    this.sendReply(message, reply, env.method);
  }

  private logFailure(fields: Record<string, unknown>, err: unknown, started: number): void {
    const line = { ...fields, duration_ms: elapsed(started) };
    // A FerryError is an answer the caller expects to handle; anything else is a bug in the handler.
    if (err instanceof FerryError) this.log.info({ ...line, error_code: err.code, err: err.message }, 'RPC handler failed');
    else this.log.error({ ...line, err }, 'RPC handler crashed');
  }

  private sendReply(message: IncomingMessage, reply: Reply, method: string): void {
    const send = message.reply;
    if (!send) return;
    try {
      send(reply);
    } catch (err) {
      // Typically a result JSON cannot encode (a BigInt, a cycle): the caller still deserves an answer.
      this.log.error({ method, err }, 'cannot send RPC reply');
      try {
        send({ failure: { type: 'ReplyNotSent', message: `cannot send reply of ${method}: ${errorText(err)}`, retryable: false } });
      } catch (e) {
        this.log.error({ method, err: e }, 'cannot send RPC failure reply');
      }
    }
  }
}

interface RunningMessage {
  readonly method: string;
  readonly kind: string;
  readonly msgId: string | undefined;
  readonly started: number;
}

/** A handler window from the options, DEFAULT_CONCURRENCY when unset; throws on anything but a positive integer. */
function windowSize(name: string, size: number | undefined): number {
  const n = size ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(n) || n < 1) throw new TypeError(`RPC server ${name} must be a positive integer, got ${size}`);
  return n;
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
