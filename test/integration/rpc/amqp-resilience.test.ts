// AMQP connection loss and recovery, injected through a loopback TCP proxy in front of the broker.
import {
  MessagingUnavailable,
  RpcClient,
  RpcServer,
  createTransport,
  newRequestContext,
  type Transport,
  type TransportState,
} from '@ferry/common/rpc';
import { TcpProxy, deleteRpcTopology, randomPrefix, testTransportUrl } from '../../support/amqp';
import { ConformanceEndpoint, capturingLogger, conformanceEndpoint, newProbe, type Probe } from './conformance';

const brokerUrl = testTransportUrl();
const ctx = newRequestContext({ user_id: 'u-1' });

/** Resolves the next time transport reaches state. */
function next(transport: Transport, state: TransportState): Promise<void> {
  return new Promise((resolve) => {
    const off = transport.onStateChange((s) => {
      if (s !== state) return;
      off();
      resolve();
    });
  });
}

describe('AMQP transport resilience', () => {
  let proxy: TcpProxy;
  let prefix: string;
  let probe: Probe;
  let transports: Transport[];
  let servers: RpcServer[];

  beforeEach(async () => {
    proxy = await TcpProxy.start(brokerUrl);
    prefix = randomPrefix();
    probe = newProbe();
    transports = [];
    servers = [];
  });

  afterEach(async () => {
    probe.gate.open();
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all(transports.map((t) => t.close()));
    await proxy.close();
    await deleteRpcTopology(brokerUrl, { prefix, topics: ['compute'], servers: ['h1'] });
  });

  async function viaProxy(opts: { maxDelayMs: number; log?: ReturnType<typeof capturingLogger>['log'] }): Promise<Transport> {
    const t = await createTransport({
      url: proxy.urlFor(brokerUrl),
      prefix,
      log: opts.log,
      reconnect: { initialDelayMs: 50, maxDelayMs: opts.maxDelayMs },
    });
    transports.push(t);
    return t;
  }

  async function serveAndCall(opts: { maxDelayMs: number; clientLog?: ReturnType<typeof capturingLogger>['log'] }) {
    const serverSide = await viaProxy(opts);
    const clientSide = await viaProxy({ ...opts, log: opts.clientLog });
    const server = new RpcServer(serverSide, { topic: 'compute', server: 'h1' }, [conformanceEndpoint('h1', probe)]);
    await server.start();
    servers.push(server);
    const client = new RpcClient<ConformanceEndpoint>(clientSide, { topic: 'compute' }, { timeoutMs: 20_000 });
    await expect(client.call(ctx, 'echo', { value: 'before' })).resolves.toEqual({ host: 'h1', value: 'before' });
    return { serverSide, clientSide, client };
  }

  it('fails a call in flight fast when the connection drops, then serves again after reconnecting', async () => {
    const { serverSide, clientSide, client } = await serveAndCall({ maxDelayMs: 500 });
    const reconnected = Promise.all([next(serverSide, 'connected'), next(clientSide, 'connected')]);

    const inFlight = client.call(ctx, 'slow', {});
    await probe.slowStarted.waitFor(1);
    const dropped = Date.now();
    proxy.dropAll();
    await expect(inFlight).rejects.toBeInstanceOf(MessagingUnavailable);
    expect(Date.now() - dropped).toBeLessThan(1000);

    await reconnected;
    expect(clientSide.connected).toBe(true);
    probe.gate.open();
    await expect(client.call(ctx, 'echo', { value: 'after' })).resolves.toEqual({ host: 'h1', value: 'after' });
    await client.cast(ctx, 'note', { value: 'cast after' });
    expect(await probe.notes.waitFor(1)).toEqual([{ host: 'h1', value: 'cast after' }]);
    await client.prepare({ fanout: true }).cast(ctx, 'note', { value: 'fanout after' });
    expect((await probe.notes.waitFor(2))[1]).toEqual({ host: 'h1', value: 'fanout after' });
  });

  it('rides out a broker outage: reconnects with backoff and delivers a cast sent during it', async () => {
    const { log, lines } = capturingLogger();
    const { serverSide, clientSide, client } = await serveAndCall({ maxDelayMs: 1000, clientLog: log });
    const lost = Promise.all([next(serverSide, 'disconnected'), next(clientSide, 'disconnected')]);
    const reconnected = Promise.all([next(serverSide, 'connected'), next(clientSide, 'connected')]);

    proxy.refuse();
    proxy.dropAll();
    const outageStarted = Date.now();
    await lost;
    expect(clientSide.connected).toBe(false);

    let castDone = false;
    const castDuringOutage = client.cast(ctx, 'note', { value: 'sent during outage' }).then(() => (castDone = true));
    const started = Date.now();
    await expect(client.prepare({ timeoutMs: 400 }).call(ctx, 'echo', { value: 'x' })).rejects.toBeInstanceOf(MessagingUnavailable);
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);

    // The outage itself is the scenario: the broker stays unreachable for about three seconds.
    await new Promise((r) => setTimeout(r, Math.max(0, 3000 - (Date.now() - outageStarted))));
    expect(castDone).toBe(false);
    expect(proxy.refused).toBeGreaterThan(2);
    proxy.accept();
    const accepted = Date.now();

    await reconnected;
    // Backoff is capped at 1 s, so service resumes within about that of the broker's return.
    expect(Date.now() - accepted).toBeLessThan(2000);
    await castDuringOutage;
    expect(await probe.notes.waitFor(1)).toEqual([{ host: 'h1', value: 'sent during outage' }]);
    await expect(client.call(ctx, 'echo', { value: 'after' })).resolves.toEqual({ host: 'h1', value: 'after' });

    const reconnectLine = lines.find((l) => l.msg === 'reconnected to the message broker');
    expect(reconnectLine).toMatchObject({ level: 30, attempt: expect.any(Number), downtime_ms: expect.any(Number) });
    expect(reconnectLine?.attempt as number).toBeGreaterThan(2);
    expect(lines.some((l) => l.level === 40 && l.msg === 'lost the connection to the message broker; reconnecting')).toBe(true);
    const failedAttempts = lines.filter((l) => l.msg === 'cannot connect to the message broker');
    expect(failedAttempts.length).toBeGreaterThan(1);
    const password = new URL(brokerUrl).password;
    if (password) expect(lines.some((l) => JSON.stringify(l).includes(`:${password}@`))).toBe(false);
  });

  it('close() during an outage stops reconnecting', async () => {
    const { log, lines } = capturingLogger();
    const transport = await viaProxy({ maxDelayMs: 100, log });
    const lost = next(transport, 'disconnected');
    proxy.refuse();
    proxy.dropAll();
    await lost;
    await proxy.waitForRefused(1);
    await transport.close();
    const attempts = proxy.refused + proxy.accepted;
    await new Promise((r) => setTimeout(r, 400));
    expect(proxy.refused + proxy.accepted).toBe(attempts);
    expect(transport.connected).toBe(false);
    expect(lines.filter((l) => (l.level as number) >= 50)).toEqual([]);
  });

  it('fails createTransport with MessagingUnavailable when the broker never answers', async () => {
    proxy.refuse();
    const err = await createTransport({ url: proxy.urlFor(brokerUrl), prefix, connectTimeoutMs: 400, reconnect: { initialDelayMs: 50, maxDelayMs: 100 } }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MessagingUnavailable);
    expect(String((err as Error).message)).not.toContain(`:${new URL(brokerUrl).password}@`);
  });
});
