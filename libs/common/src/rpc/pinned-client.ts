// Per-method RPC versions, as oslo.messaging's clients send them: each method goes out at the version at which its
// signature last changed (so an older server that has the method still takes it), never above the operator's cap for
// the topic (`[upgrade_levels]`: while some servers still run an older release, no message asks for what they lack).
import type { RequestContext } from './context';
import { RpcVersionCapped } from './errors';
import { CallContext, RpcClient, type PrepareOptions } from './client';
import type { ArgsOf, MethodNames, ResultOf } from './endpoint';
import { isVersion, parseVersion, type ApiVersion } from './version';

/** For every remote method of E, the version at which its signature last changed. */
export type VersionPins<E> = { readonly [K in MethodNames<E>]-?: string };

export interface PinnedClientOptions<E> {
  topic: string;
  pins: VersionPins<E>;
  /** The newest version messages of this topic may ask for; none: the pins as they are. */
  cap?: string;
  /** The setting that sets the cap, named in refusals. */
  capSetting: string;
  timeoutMs?: number;
}

export class PinnedClient<E> {
  private readonly client: RpcClient<E>;
  private readonly cap: ApiVersion | undefined;

  constructor(transport: ConstructorParameters<typeof RpcClient>[0], private readonly opts: PinnedClientOptions<E>) {
    for (const [method, pin] of Object.entries(opts.pins)) {
      if (!isVersion(pin)) throw new TypeError(`${opts.topic} RPC method ${method} is pinned to ${JSON.stringify(pin)}, not "major.minor"`);
    }
    if (opts.cap !== undefined && !isVersion(opts.cap)) throw new TypeError(`${opts.capSetting} must be "major.minor", got ${JSON.stringify(opts.cap)}`);
    this.cap = opts.cap === undefined ? undefined : parseVersion(opts.cap);
    this.client = new RpcClient<E>(transport, { topic: opts.topic }, opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs });
  }

  /** The version method goes out at; throws RpcVersionCapped when the cap is older than the method. */
  versionOf(method: MethodNames<E>): string {
    const pin = this.opts.pins[method];
    if (this.cap && !atMost(parseVersion(pin)!, this.cap)) {
      throw new RpcVersionCapped(
        `Cannot send ${this.opts.topic} RPC ${String(method)}: it needs version ${pin}, and ${this.opts.capSetting} caps ${this.opts.topic} messages at ${this.opts.cap} ` +
        `while older ${this.opts.topic} services run; upgrade them all, then raise or remove the cap`,
        { topic: this.opts.topic, method: String(method), version: pin, cap: this.opts.cap },
      );
    }
    return pin;
  }

  cast<K extends MethodNames<E>>(ctx: RequestContext, method: K, args: ArgsOf<E, K>, overrides: PrepareOptions = {}): Promise<void> {
    return this.to(method, overrides).then((c) => c.cast(ctx, method, args));
  }

  call<K extends MethodNames<E>>(ctx: RequestContext, method: K, args: ArgsOf<E, K>, overrides: PrepareOptions = {}): Promise<ResultOf<E, K>> {
    return this.to(method, overrides).then((c) => c.call(ctx, method, args));
  }

  private async to(method: MethodNames<E>, overrides: PrepareOptions): Promise<CallContext<E>> {
    return this.client.prepare({ ...overrides, version: this.versionOf(method) });
  }
}

function atMost(v: ApiVersion, cap: ApiVersion): boolean {
  return v.major === cap.major && v.minor <= cap.minor;
}
