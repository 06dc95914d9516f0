// One behaviour for every Transport: the RPC conformance suite, run against in-process and AMQP.
import { registerErrorTypes } from '@ferry/common/domain/errors/catalog';
import { FerryError } from '@ferry/common/domain/errors/ferry-error';
import { createLogger, type Logger } from '@ferry/common/log';
import {
  MessagingTimeout,
  NoArgsSchema,
  NoSuchMethod,
  RemoteError,
  RpcClient,
  RpcServer,
  UnsupportedVersion,
  argsSchema,
  defineContract,
  newRequestContext,
  served,
  type RequestContext,
  type ServedEndpoint,
  type Transport,
} from '@ferry/common/rpc';
import { Type } from '@sinclair/typebox';
import { randomPrefix, type RpcTopology } from '../../support/amqp';

/** How a suite run gets transports: every transport opened with one prefix shares one bus. */
export interface TransportHarness {
  open(prefix: string, log?: Logger): Promise<Transport>;
  cleanup(topology: RpcTopology): Promise<void>;
}

export class ConformanceQuotaExceeded extends FerryError {
  override readonly code: string = 'ConformanceQuotaExceeded';
  override readonly httpStatus: number = 403;
}
registerErrorTypes(ConformanceQuotaExceeded);

/** A FerryError the caller's allow-list does not know. */
class UnlistedFailure extends FerryError {
  override readonly code: string = 'ConformanceUnlisted';
}

/** Collects items and lets a test await the n-th one instead of sleeping. */
export class Inbox<T> {
  readonly items: T[] = [];
  private waiters: { count: number; resolve: () => void }[] = [];

  push(item: T): void {
    this.items.push(item);
    this.waiters = this.waiters.filter((w) => (this.items.length >= w.count ? (w.resolve(), false) : true));
  }

  async waitFor(count: number): Promise<T[]> {
    if (this.items.length < count) await new Promise<void>((resolve) => this.waiters.push({ count, resolve }));
    return this.items;
  }
}

/** A promise a test opens when it wants. */
export class Gate {
  readonly opened: Promise<void>;
  open!: () => void;
  constructor() {
    this.opened = new Promise((resolve) => (this.open = resolve));
  }
}

export interface Probe {
  readonly notes: Inbox<{ host: string; value: string }>;
  readonly slowStarted: Inbox<string>;
  readonly contexts: Inbox<RequestContext>;
  readonly args: Inbox<unknown>;
  gate: Gate;
  log?: Logger;
}

export function newProbe(): Probe {
  return { notes: new Inbox(), slowStarted: new Inbox(), contexts: new Inbox(), args: new Inbox(), gate: new Gate() };
}

export class ConformanceEndpoint {
  readonly target = { version: '1.3' };

  constructor(
    private readonly host: string,
    private readonly probe: Probe,
  ) {}

  async echo(_ctx: RequestContext, args: { value: unknown; delayMs?: number }): Promise<{ host: string; value: unknown }> {
    this.probe.args.push(args);
    if (args.delayMs) await new Promise((r) => setTimeout(r, args.delayMs));
    return { host: this.host, value: args.value };
  }

  async note(_ctx: RequestContext, args: { value: string }): Promise<void> {
    this.probe.notes.push({ host: this.host, value: args.value });
  }

  async slow(_ctx: RequestContext, _args: Record<string, never>): Promise<string> {
    this.probe.slowStarted.push(this.host);
    await this.probe.gate.opened;
    return 'finally';
  }

  async failTyped(_ctx: RequestContext, args: { limit: number }): Promise<never> {
    throw new ConformanceQuotaExceeded(`quota of ${args.limit} exceeded`, { limit: args.limit });
  }

  async failPlain(_ctx: RequestContext, _args: Record<string, never>): Promise<never> {
    throw new RangeError('flavor index out of range');
  }

  async failUnlisted(_ctx: RequestContext, _args: Record<string, never>): Promise<never> {
    throw new UnlistedFailure('not on the list');
  }

  async unencodable(_ctx: RequestContext, _args: Record<string, never>): Promise<{ size: bigint }> {
    return { size: 10n ** 20n };
  }

  async crash(_ctx: RequestContext, _args: Record<string, never>): Promise<void> {
    throw new Error('cast handler crashed');
  }

  async whoAmI(ctx: RequestContext, _args: Record<string, never>): Promise<RequestContext> {
    this.probe.contexts.push(ctx);
    this.probe.log?.info({ marker: 'in-handler' }, 'handling whoAmI');
    return ctx;
  }

  async _private(_ctx: RequestContext, _args: Record<string, never>): Promise<string> {
    return 'must not be reachable';
  }
}

export const CONFORMANCE_CONTRACT = defineContract<ConformanceEndpoint>()({
  echo: argsSchema({ value: Type.Unknown(), delayMs: Type.Optional(Type.Integer({ minimum: 0 })) }),
  note: argsSchema({ value: Type.String() }),
  slow: NoArgsSchema,
  failTyped: argsSchema({ limit: Type.Integer() }),
  failPlain: NoArgsSchema,
  failUnlisted: NoArgsSchema,
  unencodable: NoArgsSchema,
  crash: NoArgsSchema,
  whoAmI: NoArgsSchema,
});

export function conformanceEndpoint(host: string, probe: Probe): ServedEndpoint {
  return served(new ConformanceEndpoint(host, probe), CONFORMANCE_CONTRACT);
}

/** A pino logger whose lines a test can read back. */
export function capturingLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    service: 'rpc-conformance',
    level: 'debug',
    pretty: false,
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { log, lines };
}

type Client = RpcClient<ConformanceEndpoint>;

export function transportConformance(name: string, makeHarness: () => TransportHarness): void {
  describe(`Transport conformance: ${name}`, () => {
    const harness = makeHarness();
    let prefix: string;
    let probe: Probe;
    let transports: Transport[];
    let servers: RpcServer[];
    const topics = new Set<string>();
    const hosts = new Set<string>();
    const ctx = newRequestContext({ user_id: 'u-1', project_id: 'p-1', global_request_id: 'req-global', roles: ['member'] });

    beforeEach(() => {
      prefix = randomPrefix();
      probe = newProbe();
      transports = [];
      servers = [];
      topics.clear();
      hosts.clear();
    });

    afterEach(async () => {
      probe.gate.open();
      await Promise.all(servers.map((s) => s.stop()));
      await Promise.all(transports.map((t) => t.close()));
      await harness.cleanup({ prefix, topics, servers: hosts });
    });

    async function transport(log?: Logger): Promise<Transport> {
      const t = await harness.open(prefix, log);
      transports.push(t);
      return t;
    }

    async function serve(t: Transport, topic: string, host: string, log?: Logger): Promise<RpcServer> {
      topics.add(topic);
      hosts.add(host);
      const server = new RpcServer(t, { topic, server: host }, [conformanceEndpoint(host, probe)], { log, concurrency: 8 });
      await server.start();
      servers.push(server);
      return server;
    }

    async function oneServer(opts: { timeoutMs?: number; log?: Logger } = {}): Promise<Client> {
      const t = await transport();
      await serve(t, 'compute', 'h1', opts.log);
      return new RpcClient<ConformanceEndpoint>(t, { topic: 'compute' }, { timeoutMs: opts.timeoutMs ?? 5000 });
    }

    it('call returns the result, and neither side shares objects with the other', async () => {
      const client = await oneServer();
      const args = { value: { nested: [1, 'two'] } };
      const result = await client.call(ctx, 'echo', args);
      expect(result).toEqual({ host: 'h1', value: { nested: [1, 'two'] } });
      const [received] = await probe.args.waitFor(1);
      expect(received).toEqual(args);
      expect(received).not.toBe(args);
      expect(result.value).not.toBe(args.value);
    });

    it('cast is delivered asynchronously, never inside the cast itself', async () => {
      const client = await oneServer();
      const sent = client.cast(ctx, 'note', { value: 'hello' });
      expect(probe.notes.items).toHaveLength(0);
      await sent;
      expect(await probe.notes.waitFor(1)).toEqual([{ host: 'h1', value: 'hello' }]);
    });

    it('a crashing cast handler does not stop the server', async () => {
      const client = await oneServer();
      await client.cast(ctx, 'crash', {});
      await client.cast(ctx, 'note', { value: 'still here' });
      await probe.notes.waitFor(1);
      await expect(client.call(ctx, 'echo', { value: 1 })).resolves.toEqual({ host: 'h1', value: 1 });
    });

    it('fanout cast reaches every server of the topic exactly once', async () => {
      for (const host of ['h1', 'h2', 'h3']) await serve(await transport(), 'compute', host);
      const client = new RpcClient<ConformanceEndpoint>(await transport(), { topic: 'compute' });
      await client.prepare({ fanout: true }).cast(ctx, 'note', { value: 'all' });
      const notes = await probe.notes.waitFor(3);
      expect(notes.map((n) => n.host).sort()).toEqual(['h1', 'h2', 'h3']);
      // A round trip through every server's queue proves no duplicate is still on its way.
      for (const host of ['h1', 'h2', 'h3']) await client.prepare({ server: host }).call(ctx, 'echo', { value: 0 });
      expect(probe.notes.items).toHaveLength(3);
    });

    it('fanout is for casts only', async () => {
      const client = await oneServer();
      await expect(client.prepare({ fanout: true }).call(ctx, 'echo', { value: 1 })).rejects.toThrow(TypeError);
    });

    it('shares the topic queue between servers round-robin', async () => {
      await serve(await transport(), 'compute', 'h1');
      await serve(await transport(), 'compute', 'h2');
      const client = new RpcClient<ConformanceEndpoint>(await transport(), { topic: 'compute' });
      const served: string[] = [];
      for (let i = 0; i < 10; i++) served.push((await client.call(ctx, 'echo', { value: i })).host);
      expect(served.filter((h) => h === 'h1').length).toBeGreaterThan(0);
      expect(served.filter((h) => h === 'h2').length).toBeGreaterThan(0);
    });

    it('prepare({server}) reaches only that server', async () => {
      const t = await transport();
      await serve(t, 'compute', 'h1');
      await serve(t, 'compute', 'h2');
      const client = new RpcClient<ConformanceEndpoint>(t, { topic: 'compute' });
      const direct = client.prepare({ server: 'h2' });
      const served = await Promise.all(Array.from({ length: 8 }, (_, i) => direct.call(ctx, 'echo', { value: i })));
      expect(new Set(served.map((r) => r.host))).toEqual(new Set(['h2']));
      await direct.cast(ctx, 'note', { value: 'direct' });
      expect(await probe.notes.waitFor(1)).toEqual([{ host: 'h2', value: 'direct' }]);
    });

    it('call times out with MessagingTimeout naming topic, server, method and timeout', async () => {
      const client = await oneServer();
      const started = Date.now();
      const err = await client.prepare({ server: 'h1', timeoutMs: 300 }).call(ctx, 'slow', {}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MessagingTimeout);
      expect(err).toMatchObject({ code: 'MessagingTimeout', details: { topic: 'compute', server: 'h1', method: 'slow', timeout_ms: 300 } });
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      expect(Date.now() - started).toBeLessThan(3000);
    });

    it('rebuilds an allow-listed remote error as its own class', async () => {
      const client = await oneServer();
      const err = await client.call(ctx, 'failTyped', { limit: 3 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConformanceQuotaExceeded);
      expect(err).toMatchObject({ code: 'ConformanceQuotaExceeded', message: 'quota of 3 exceeded', httpStatus: 403, details: { limit: 3 } });
    });

    it.each([
      ['a plain Error', 'failPlain', 'RangeError'],
      ['a FerryError off the allow-list', 'failUnlisted', 'ConformanceUnlisted'],
    ] as const)('turns %s into a RemoteError carrying the remote type', async (_what, method, remoteType) => {
      const client = await oneServer();
      const err = await client.call(ctx, method, {}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteError);
      expect(err).toMatchObject({ code: 'RemoteError', remoteType });
    });

    it('answers with a failure when the result cannot be encoded', async () => {
      const client = await oneServer();
      const err = await client.call(ctx, 'unencodable', {}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteError);
      expect(err).toMatchObject({ remoteType: 'ReplyNotSent' });
      await expect(client.call(ctx, 'echo', { value: 'next' })).resolves.toMatchObject({ value: 'next' });
    });

    it('refuses an incompatible version with UnsupportedVersion and serves a compatible one', async () => {
      const client = await oneServer();
      await expect(client.prepare({ version: '1.2' }).call(ctx, 'echo', { value: 'ok' })).resolves.toMatchObject({ value: 'ok' });
      await expect(client.prepare({ version: '1.4' }).call(ctx, 'echo', { value: 1 })).rejects.toBeInstanceOf(UnsupportedVersion);
      await expect(client.prepare({ version: '2.0' }).call(ctx, 'echo', { value: 1 })).rejects.toBeInstanceOf(UnsupportedVersion);
    });

    it.each(['noSuchThing', '_private', 'constructor', 'target'])('refuses method %s with NoSuchMethod', async (method) => {
      await oneServer();
      const untyped = new RpcClient(transports[0], { topic: 'compute' });
      await expect(untyped.call(ctx, method, {})).rejects.toBeInstanceOf(NoSuchMethod);
    });

    it('answers 50 concurrent calls, each with its own result', async () => {
      const client = await oneServer();
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => client.call(ctx, 'echo', { value: i, delayMs: (i * 7) % 20 })),
      );
      expect(results.map((r) => r.value)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    });

    it('stop() waits for the handlers in flight', async () => {
      const client = await oneServer();
      const call = client.call(ctx, 'slow', {});
      await probe.slowStarted.waitFor(1);
      let stopped = false;
      const stopping = servers[0].stop().then(() => (stopped = true));
      await new Promise((r) => setImmediate(r));
      expect(stopped).toBe(false);
      probe.gate.open();
      await expect(call).resolves.toBe('finally');
      await stopping;
    });

    it('delivers the request context to the handler and into its log lines', async () => {
      const { log, lines } = capturingLogger();
      probe.log = log;
      const client = await oneServer({ log });
      const seen = await client.call(ctx, 'whoAmI', {});
      expect(seen).toEqual(ctx);
      const [inHandler] = await probe.contexts.waitFor(1);
      expect(inHandler).toEqual(ctx);
      const handlerLine = lines.find((l) => l.marker === 'in-handler');
      expect(handlerLine).toMatchObject({
        request_id: ctx.request_id,
        global_request_id: 'req-global',
        user_id: 'u-1',
        project_id: 'p-1',
      });
      const received = lines.find((l) => l.msg === 'RPC message received');
      expect(received).toMatchObject({ request_id: ctx.request_id, method: 'whoAmI', topic: 'compute', server: 'h1' });
    });
  });
}
