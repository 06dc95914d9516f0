// One behaviour for every Transport: the RPC conformance suite, run against in-process and AMQP.
import { registerErrorTypes } from '@ferry/common/domain/errors/catalog';
import { FerryError } from '@ferry/common/domain/errors/ferry-error';
import { createLogger, type Logger } from '@ferry/common/log';
import {
  InvalidRpcArguments,
  MessageUndeliverable,
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
  type RpcServerOptions,
  type ServedEndpoint,
  type Transport,
} from '@ferry/common/rpc';
import { COMPUTE_CONTRACT } from '@ferry/compute/client';
import { ComputeManager, type ComputeContext } from '@ferry/compute';
import { SCHEDULER_CONTRACT, SchedulerManager, type SchedulerDeps } from '@ferry/scheduler';
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

/** How long a relay's call to its peer waits for the reply. */
export const RELAY_TIMEOUT_MS = 5_000;

export interface Probe {
  readonly notes: Inbox<{ host: string; value: string }>;
  /** What each relay cast's call to its peer ended with: 'answered', or the error's code. */
  readonly relayed: Inbox<{ host: string; value: string; outcome: string }>;
  /** The client relay casts call their peer with. */
  relayVia?: RpcClient<ConformanceEndpoint>;
  readonly slowStarted: Inbox<string>;
  readonly contexts: Inbox<RequestContext>;
  readonly args: Inbox<unknown>;
  gate: Gate;
  log?: Logger;
}

export function newProbe(): Probe {
  return { notes: new Inbox(), relayed: new Inbox(), slowStarted: new Inbox(), contexts: new Inbox(), args: new Inbox(), gate: new Gate() };
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

  /** A cast that calls echo on another server of the topic, as confirm_resize asks a peer compute before it ends. */
  async relay(ctx: RequestContext, args: { to: string; value: string }): Promise<void> {
    let outcome = 'answered';
    try {
      await this.probe.relayVia!.prepare({ server: args.to, timeoutMs: RELAY_TIMEOUT_MS }).call(ctx, 'echo', { value: args.value });
    } catch (err) {
      outcome = err instanceof FerryError ? err.code : String(err);
    }
    this.probe.relayed.push({ host: this.host, value: args.value, outcome });
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
  relay: argsSchema({ to: Type.String(), value: Type.String() }),
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

/** Dependencies that record every use and fail it: a manager built on them shows whether its handler ran at all. */
function tripwire<T>(touched: string[]): T {
  return new Proxy({}, {
    get(_target, key) {
      touched.push(String(key));
      throw new Error(`dependency ${String(key)} used`);
    },
  }) as T;
}

const UUID = '2d1f6a3e-8b4c-4d5e-9f60-7a8b9c0d1e2f';
const FLAVOR = { id: 1, flavorid: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 512, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} };

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

    async function serve(t: Transport, topic: string, host: string, log?: Logger, opts: RpcServerOptions = {}): Promise<RpcServer> {
      topics.add(topic);
      hosts.add(host);
      const server = new RpcServer(t, { topic, server: host }, [conformanceEndpoint(host, probe)], { log, concurrency: 8, ...opts });
      await server.start();
      servers.push(server);
      return server;
    }

    /** Waits for the first log line that matches, by polling the captured lines (a rejection is logged in the server's turn). */
    async function lineMatching(lines: Record<string, unknown>[], match: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
      for (let i = 0; i < 200; i++) {
        const line = lines.find(match);
        if (line) return line;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error('no matching log line');
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
      // A cast to every server on the channel its fanout queue shares, handled: no duplicate is still on its way.
      // (Not a call: calls have a lane of their own, so they overtake casts.)
      for (const host of ['h1', 'h2', 'h3']) await client.prepare({ server: host }).cast(ctx, 'note', { value: 'after' });
      await probe.notes.waitFor(6);
      expect(probe.notes.items.filter((n) => n.value === 'all')).toHaveLength(3);
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

    it('refuses a call with bad args with InvalidRpcArguments; the handler never runs', async () => {
      const client = await oneServer();
      const untyped = new RpcClient(transports[0], { topic: 'compute' });
      for (const args of [{ value: 1, delayMs: 'soon' }, { value: 1, delayMs: -5 }, { value: 1, extra: true }, {}]) {
        const err = await untyped.call(ctx, 'echo', args).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(InvalidRpcArguments);
        expect(err).toMatchObject({ code: 'InvalidRpcArguments', details: { method: 'echo' } });
      }
      expect(probe.args.items).toEqual([]);
      await expect(client.call(ctx, 'echo', { value: 'fine', delayMs: 1 })).resolves.toEqual({ host: 'h1', value: 'fine' });
    });

    it('rejects a cast with bad args: logged, and nothing changes', async () => {
      const { log, lines } = capturingLogger();
      const client = await oneServer({ log });
      const untyped = new RpcClient(transports[0], { topic: 'compute' });
      await untyped.cast(ctx, 'note', { value: 42 });
      await untyped.cast(ctx, 'note', { value: 'ok', and: 'more' });
      await client.cast(ctx, 'note', { value: 'valid' });
      expect(await probe.notes.waitFor(1)).toEqual([{ host: 'h1', value: 'valid' }]);
      const rejected = await lineMatching(lines, (l) => l.msg === 'RPC message rejected' && l.kind === 'cast');
      expect(rejected).toMatchObject({ level: 40, method: 'note', error_code: 'InvalidRpcArguments', request_id: ctx.request_id });
      expect(String(rejected.err)).toContain('/value');
      // Casts are handled in the order they arrive, so both refused ones were by the time the valid one was; neither left a note.
      expect(lines.filter((l) => l.msg === 'RPC message rejected')).toHaveLength(2);
      expect(probe.notes.items).toEqual([{ host: 'h1', value: 'valid' }]);
    });

    it('reaches only the contract of a real manager: private helpers and bad args are refused before any of its code runs', async () => {
      const { log, lines } = capturingLogger();
      const t = await transport();
      const touched: string[] = [];
      topics.add('scheduler');
      hosts.add('s1');
      const server = new RpcServer(t, { topic: 'scheduler', server: 's1' }, [served(new SchedulerManager(tripwire<SchedulerDeps>(touched)), SCHEDULER_CONTRACT)], { log });
      await server.start();
      servers.push(server);
      const scheduler = new RpcClient(t, { topic: 'scheduler', version: '1.2' });
      for (const method of ['placeAll', 'instancesAwaitingHost', 'startBuild', 'failBuild', 'deps']) {
        await expect(scheduler.call(ctx, method, {})).rejects.toBeInstanceOf(NoSuchMethod);
      }
      const spec = { flavor: FLAVOR, image_ref: 'img', project_id: 'p-1', num_attempts: 1 };
      await expect(scheduler.call(ctx, 'select_destinations', { instance_uuids: ['not-a-uuid'], request_spec: spec })).rejects.toBeInstanceOf(
        InvalidRpcArguments,
      );
      await expect(scheduler.call(ctx, 'select_destinations', { instance_uuids: [UUID], request_spec: { ...spec, flavor: { ...FLAVOR, vcpus: 'two' } } })).rejects.toBeInstanceOf(
        InvalidRpcArguments,
      );
      await scheduler.cast(ctx, 'live_migrate_server', { migration_id: '7' });
      await lineMatching(lines, (l) => l.msg === 'RPC message rejected' && l.method === 'live_migrate_server');
      expect(touched).toEqual([]);
      // Args that pass reach the handler, which then trips on its first dependency.
      await expect(scheduler.call(ctx, 'select_destinations', { instance_uuids: [UUID], request_spec: spec })).rejects.toBeInstanceOf(RemoteError);
      expect(touched.length).toBeGreaterThan(0);
    });

    it('refuses bad args to the real compute contract: a call gets the error, a cast is logged, the manager is untouched', async () => {
      const { log, lines } = capturingLogger();
      const t = await transport();
      const touched: string[] = [];
      topics.add('compute');
      hosts.add('c1');
      const server = new RpcServer(t, { topic: 'compute', server: 'c1' }, [served(new ComputeManager(tripwire<ComputeContext>(touched)), COMPUTE_CONTRACT)], { log });
      await server.start();
      servers.push(server);
      const compute = new RpcClient(t, { topic: 'compute', server: 'c1', version: '1.3' });
      const err = await compute.call(ctx, 'pre_live_migration', { migration_id: 3, cookie: 'not an object' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidRpcArguments);
      expect(err).toMatchObject({ details: { method: 'pre_live_migration', violations: [expect.stringContaining('/cookie')] } });
      await compute.cast(ctx, 'resize_instance', { migration_id: 0 });
      await compute.cast(ctx, 'prep_resize', { instance_uuid: UUID, migration_type: 'teleport', new_flavor: FLAVOR, request_spec: {}, alternates: [] });
      await compute.cast(ctx, 'reboot_instance', { instance_uuid: UUID, reboot_type: 'SOFT', force: true });
      await compute.cast(ctx, 'terminate_instance', { instance_uuid: `${UUID}x` });
      for (const method of ['resize_instance', 'prep_resize', 'reboot_instance', 'terminate_instance']) {
        expect(await lineMatching(lines, (l) => l.msg === 'RPC message rejected' && l.method === method)).toMatchObject({ error_code: 'InvalidRpcArguments', kind: 'cast' });
      }
      expect(touched).toEqual([]);
    });

    it('rejects a direct cast or call no queue takes with MessageUndeliverable naming the routing key', async () => {
      const client = await oneServer({ timeoutMs: 10_000 });
      topics.add('nobody');
      const toGhost = client.prepare({ server: 'h9' });
      const castErr = await toGhost.cast(ctx, 'note', { value: 'lost' }).catch((e: unknown) => e);
      expect(castErr).toBeInstanceOf(MessageUndeliverable);
      expect(castErr).toMatchObject({ code: 'MessageUndeliverable', details: { topic: 'compute', server: 'h9', method: 'note', routing_key: 'compute.h9' } });
      const started = Date.now();
      const callErr = await toGhost.call(ctx, 'echo', { value: 1 }).catch((e: unknown) => e);
      expect(callErr).toBeInstanceOf(MessageUndeliverable);
      expect(callErr).toMatchObject({ details: { routing_key: 'compute.h9', method: 'echo' } });
      // Not at the call's timeout: the bus said at once that nobody would get it.
      expect(Date.now() - started).toBeLessThan(5000);
      const nobody = new RpcClient<ConformanceEndpoint>(transports[0], { topic: 'nobody' });
      await expect(nobody.cast(ctx, 'note', { value: 'lost' })).rejects.toMatchObject({ code: 'MessageUndeliverable', details: { routing_key: 'nobody' } });
      // A fanout reaches whoever runs now, which may be nobody.
      await expect(nobody.prepare({ fanout: true }).cast(ctx, 'note', { value: 'anyone?' })).resolves.toBeUndefined();
      // A cast through the same channel, handled: nothing lost ever turned up.
      await client.cast(ctx, 'note', { value: 'round trip' });
      expect(await probe.notes.waitFor(1)).toEqual([{ host: 'h1', value: 'round trip' }]);
    });

    it('tells apart, among concurrent casts, exactly those no queue takes', async () => {
      const client = await oneServer();
      const results = await Promise.allSettled(
        Array.from({ length: 30 }, (_, i) => client.prepare({ server: i % 3 === 0 ? 'h9' : 'h1' }).cast(ctx, 'note', { value: String(i) })),
      );
      const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
      expect(failed).toEqual(Array.from({ length: 10 }, (_, k) => k * 3));
      for (const i of failed) expect((results[i] as PromiseRejectedResult).reason).toBeInstanceOf(MessageUndeliverable);
      const notes = await probe.notes.waitFor(20);
      expect(notes.map((n) => Number(n.value)).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i).filter((i) => i % 3 !== 0));
    });

    it("keeps a stopped server's queue: a cast to it waits there and is handled when the server is back", async () => {
      const t = await transport();
      const stopped = await serve(t, 'compute', 'h2');
      await stopped.stop();
      const client = new RpcClient<ConformanceEndpoint>(t, { topic: 'compute', server: 'h2' });
      await expect(client.cast(ctx, 'note', { value: 'while away' })).resolves.toBeUndefined();
      expect(probe.notes.items).toEqual([]);
      await serve(t, 'compute', 'h2');
      expect(await probe.notes.waitFor(1)).toEqual([{ host: 'h2', value: 'while away' }]);
    });

    it('answers calls while every cast slot of both servers waits on a call to the other', async () => {
      const windows = { concurrency: 2, callConcurrency: 2 };
      await serve(await transport(), 'compute', 'h1', undefined, windows);
      await serve(await transport(), 'compute', 'h2', undefined, windows);
      const caller = await transport();
      probe.relayVia = new RpcClient<ConformanceEndpoint>(caller, { topic: 'compute' });
      const client = new RpcClient<ConformanceEndpoint>(caller, { topic: 'compute' });
      const started = Date.now();
      // Ten casts at each server at once, each calling the other: their cast slots fill with handlers that wait on
      // calls to a server whose cast slots are full the same way. Only a window of their own gets those calls answered.
      await Promise.all(
        Array.from({ length: 10 }, (_, i) => [
          client.prepare({ server: 'h1' }).cast(ctx, 'relay', { to: 'h2', value: `a${i}` }),
          client.prepare({ server: 'h2' }).cast(ctx, 'relay', { to: 'h1', value: `b${i}` }),
        ]).flat(),
      );
      const relayed = await probe.relayed.waitFor(20);
      expect(relayed.filter((r) => r.outcome !== 'answered')).toEqual([]);
      expect(relayed.filter((r) => r.host === 'h1')).toHaveLength(10);
      // Inside one call's timeout: nothing waited for a slot that never came.
      expect(Date.now() - started).toBeLessThan(RELAY_TIMEOUT_MS);
      // Deadlocked, the relays would end one pair of slots at a time, a call timeout apart.
    }, 12 * RELAY_TIMEOUT_MS);

    it('calls a server that consumes no call lane (a release before them) through its cast queues', async () => {
      const t = await transport();
      await serve(t, 'compute', 'h1', undefined, { withoutCallLane: true });
      const client = new RpcClient<ConformanceEndpoint>(t, { topic: 'compute' }, { timeoutMs: 10_000 });
      const started = Date.now();
      await expect(client.prepare({ server: 'h1' }).call(ctx, 'echo', { value: 'own' })).resolves.toEqual({ host: 'h1', value: 'own' });
      await expect(client.call(ctx, 'echo', { value: 'shared' })).resolves.toEqual({ host: 'h1', value: 'shared' });
      // Answered at once, not at a timeout.
      expect(Date.now() - started).toBeLessThan(5000);
      // A server that has call lanes answers next to it, on the shared topic too.
      await serve(t, 'compute', 'h2');
      await expect(client.prepare({ server: 'h2' }).call(ctx, 'echo', { value: 'new' })).resolves.toEqual({ host: 'h2', value: 'new' });
      const served = await Promise.all(Array.from({ length: 6 }, (_, i) => client.call(ctx, 'echo', { value: i })));
      expect(served.map((r) => r.value)).toEqual([0, 1, 2, 3, 4, 5]);
    });

    it("keeps a stopped server's call lane: a call sent while it is away is answered when it is back", async () => {
      const t = await transport();
      const stopped = await serve(t, 'compute', 'h2');
      await stopped.stop();
      const call = new RpcClient<ConformanceEndpoint>(t, { topic: 'compute', server: 'h2' }, { timeoutMs: 15_000 }).call(ctx, 'echo', { value: 'while away' });
      await serve(t, 'compute', 'h2');
      await expect(call).resolves.toEqual({ host: 'h2', value: 'while away' });
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
