// RpcClient: typed calls and casts to a Target; prepare() derives a new, frozen context instead of mutating.
import type { RequestContext } from './context';
import type { ArgsOf, MethodNames, ResultOf } from './endpoint';
import { timeRpc, type RpcKind, type RpcLabels } from '../metrics/rpc-metrics';
import { buildEnvelope, failureType, resultOf } from './envelope';
import { describeTarget, makeTarget, withOverrides, type Target, type TargetOverrides } from './target';
import type { Transport } from './transport';

export const DEFAULT_TIMEOUT_MS = 60_000;

export interface PrepareOptions extends TargetOverrides {
  /** How long a call waits for its reply, and a cast for the bus to accept it. */
  readonly timeoutMs?: number;
}

export interface RpcClientOptions {
  /** Default 60000. */
  readonly timeoutMs?: number;
}

// The endpoint type of an untyped client: any method name, any args, any result.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyEndpoint = any;

/** A target, a timeout and a transport: everything a call needs. Immutable. */
export class CallContext<E = AnyEndpoint> {
  readonly target: Target;
  readonly timeoutMs: number;
  private readonly transport: Transport;

  constructor(transport: Transport, target: Target, timeoutMs: number) {
    this.transport = transport;
    this.target = target;
    this.timeoutMs = checkTimeout(timeoutMs);
    Object.freeze(this);
  }

  /** A new context with overrides applied; this one is left as it was. */
  prepare(overrides: PrepareOptions): CallContext<E> {
    const { timeoutMs, ...targetOverrides } = overrides;
    return new CallContext<E>(this.transport, withOverrides(this.target, targetOverrides), timeoutMs ?? this.timeoutMs);
  }

  /** Invokes method on one server of the target and resolves with its result (or throws its failure). */
  call<K extends MethodNames<E>>(ctx: RequestContext, method: K, args: ArgsOf<E, K>): Promise<ResultOf<E, K>> {
    try {
      if (this.target.fanout) throw new TypeError(`cannot call ${String(method)} on ${describeTarget(this.target)}: fanout is for casts`);
      const envelope = buildEnvelope(this.target, ctx, method as string, args as object);
      const reply = this.transport.call(this.target, envelope, this.timeoutMs).then(resultOf);
      return timeRpc('client', this.labels(method, 'call'), reply, failureType) as Promise<ResultOf<E, K>>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Sends method to the target without waiting for it to run; resolves once the bus has accepted it. */
  async cast<K extends MethodNames<E>>(ctx: RequestContext, method: K, args: ArgsOf<E, K>): Promise<void> {
    const envelope = buildEnvelope(this.target, ctx, method as string, args as object);
    await timeRpc('client', this.labels(method, 'cast'), this.transport.cast(this.target, envelope, this.timeoutMs), failureType);
  }

  private labels(method: MethodNames<E>, kind: RpcKind): RpcLabels {
    return { topic: this.target.topic, method: String(method), kind };
  }
}

/** The client for one topic; E is the endpoint class, so method names, args and results are checked. */
export class RpcClient<E = AnyEndpoint> extends CallContext<E> {
  constructor(transport: Transport, target: Target, opts: RpcClientOptions = {}) {
    super(transport, makeTarget(target), opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  }
}

function checkTimeout(timeoutMs: number): number {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new TypeError(`RPC timeoutMs must be a positive number, got ${timeoutMs}`);
  return timeoutMs;
}
