// Bus taps on both transports: a tail sees calls with their replies (paired, with latency), casts, fanouts, error
// replies and notifications, learns servers from what they send, and leaves routing as it was — a message no service's
// queue takes is still undeliverable while a tap runs.
import { silentLogger } from '@ferry/common/log';
import { Notifier } from '@ferry/common/notify';
import {
  MessageUndeliverable, RpcClient, RpcServer, createTransport, newRequestContext, startBusTail, type BusEvent, type BusTail, type RpcServerOptions, type Transport,
} from '@ferry/common/rpc';
import { deleteRpcTopology, randomPrefix, testTransportUrl } from '../../support/amqp';
import { ConformanceQuotaExceeded, Inbox, conformanceEndpoint, newProbe, type ConformanceEndpoint } from './conformance';

const brokerUrl = testTransportUrl();
const UUID = '0c5e5d8e-93a4-4e33-9f2b-8f0f6f6a1d10';
const TOPIC = 'compute';

const harnesses = [
  { name: 'in-process', url: (prefix: string) => `inproc://tap-${prefix}` },
  { name: 'AMQP', url: () => brokerUrl },
];

const payload = (data: Record<string, unknown>) => ({ 'nova_object.name': 'InstanceActionPayload', 'nova_object.namespace': 'nova', 'nova_object.version': '1.8', 'nova_object.data': data });

describe.each(harnesses)('bus tap: $name', ({ name, url }) => {
  let prefix: string;
  let opened: Transport[];
  let servers: RpcServer[];
  let tails: BusTail[];
  const ctx = newRequestContext({ request_id: 'req-tap-1', user_id: 'u-1' });

  const open = async (sender?: string) => {
    const t = await createTransport({ url: url(prefix), prefix, ...(sender ? { sender } : {}) });
    opened.push(t);
    return t;
  };
  const serve = async (transport: Transport, host: string, opts: RpcServerOptions = {}) => {
    const server = new RpcServer(transport, { topic: TOPIC, server: host }, [conformanceEndpoint(host, newProbe())], opts);
    await server.start();
    servers.push(server);
  };
  const tail = async (hosts: string[]) => {
    const events = new Inbox<BusEvent>();
    tails.push(await startBusTail(await open(), { filter: {}, tap: { topics: [TOPIC], hosts }, onEvent: (e) => events.push(e), onNotice: () => undefined }));
    return events;
  };
  /** The first event that matches, once it has arrived. */
  const seen = async (events: Inbox<BusEvent>, match: (e: BusEvent) => boolean): Promise<BusEvent> => {
    for (let n = 1; ; n++) {
      const found = (await events.waitFor(n)).find(match);
      if (found) return found;
    }
  };

  beforeEach(() => {
    prefix = randomPrefix();
    opened = [];
    servers = [];
    tails = [];
  });

  afterEach(async () => {
    for (const t of tails) await t.stop();
    for (const s of servers) await s.stop();
    for (const t of opened) await t.close();
    if (name === 'AMQP') await deleteRpcTopology(brokerUrl, { prefix, topics: [TOPIC], servers: ['h1', 'h2'] });
  });

  it('sees a call and its reply with the latency, a cast, an error reply and a notification', async () => {
    await serve(await open('ferry-compute:h1'), 'h1');
    const events = await tail(['h1']);
    const caller = await open('ferry-api:ctl');
    const client = new RpcClient<ConformanceEndpoint>(caller, { topic: TOPIC, server: 'h1', version: '1.3' }, { timeoutMs: 5000 });
    // The handler takes a while, so the tap has bound this caller's reply address before the reply leaves.
    await client.call(ctx, 'echo', { value: UUID, delayMs: 100 });
    await client.cast(ctx, 'note', { value: 'hello' });
    await expect(client.call(ctx, 'failTyped', { limit: 3 })).rejects.toBeInstanceOf(ConformanceQuotaExceeded);
    await new Notifier(caller, 'ferry-compute:h1', silentLogger()).error('instance.resize.error', payload({
      uuid: UUID, request_id: 'req-tap-1', fault: { 'nova_object.data': { exception: 'DiskCopyFailed', exception_message: 'no space left' } },
    }));

    const call = await seen(events, (e) => e.kind === 'call' && e.method === 'echo');
    expect(call).toMatchObject({ sender: 'ferry-api:ctl', target: `${TOPIC}.h1`, topic: TOPIC, version: '1.3', request_id: 'req-tap-1', failure: null });
    const reply = await seen(events, (e) => e.kind === 'reply' && e.msg_id === call.msg_id);
    expect(reply).toMatchObject({ sender: 'ferry-compute:h1', target: 'ferry-api:ctl', method: 'echo', request_id: 'req-tap-1', failure: null });
    expect(reply.latency_ms).toBeGreaterThanOrEqual(90);
    expect(reply.latency_ms).toBeLessThan(5000);
    expect(await seen(events, (e) => e.kind === 'cast')).toMatchObject({ method: 'note', sender: 'ferry-api:ctl', target: `${TOPIC}.h1`, latency_ms: null });
    const failed = await seen(events, (e) => e.kind === 'reply' && e.method === 'failTyped');
    expect(failed.failure).toEqual({ type: 'ConformanceQuotaExceeded', message: 'quota of 3 exceeded' });
    expect(await seen(events, (e) => e.kind === 'notification')).toMatchObject({
      sender: 'ferry-compute:h1', method: 'instance.resize.error', instance: UUID, request_id: 'req-tap-1', failure: { type: 'DiskCopyFailed', message: 'no space left' },
    });
  });

  it('sees fanout casts and learns a server it was not told of from what that server sends', async () => {
    const h2 = await open('ferry-compute:h2');
    await serve(h2, 'h2');
    const events = await tail([]);
    const caller = await open('ferry-api:ctl');
    const client = new RpcClient<ConformanceEndpoint>(caller, { topic: TOPIC, version: '1.3' }, { timeoutMs: 5000 });
    await client.prepare({ fanout: true }).cast(ctx, 'note', { value: 'everyone' });
    expect(await seen(events, (e) => e.kind === 'cast')).toMatchObject({ target: `${TOPIC} (fanout)`, method: 'note' });
    // h2 says something (a notification), then a cast to h2's own queue is seen too.
    await new Notifier(h2, 'ferry-compute:h2', silentLogger()).info('instance.resize.start', payload({ uuid: UUID }));
    await seen(events, (e) => e.kind === 'notification');
    const direct = client.prepare({ server: 'h2' });
    const deadline = Date.now() + 5000;
    let n = 0;
    for (; Date.now() < deadline; n++) {
      await direct.cast(ctx, 'note', { value: `to-h2-${n}` });
      await new Promise((r) => setTimeout(r, 50));
      if (events.items.some((e) => e.kind === 'cast' && e.target === `${TOPIC}.h2`)) break;
    }
    expect(events.items.some((e) => e.kind === 'cast' && e.target === `${TOPIC}.h2`)).toBe(true);
  });

  it('leaves a call to a server without call lanes (a release before them) to reach its cast queue, and sees it', async () => {
    await serve(await open('ferry-compute:h1'), 'h1');
    await serve(await open('ferry-compute:h2'), 'h2', { withoutCallLane: true });
    const events = await tail(['h1', 'h2']);
    const client = new RpcClient<ConformanceEndpoint>(await open('ferry-api:ctl'), { topic: TOPIC, version: '1.3' }, { timeoutMs: 5000 });
    // Bound to h1's call lane, the tap must not make a lane h2 lacks look routable: the call has to come back and go on.
    await expect(client.prepare({ server: 'h2' }).call(ctx, 'echo', { value: 'old' })).resolves.toEqual({ host: 'h2', value: 'old' });
    await expect(client.prepare({ server: 'h1' }).call(ctx, 'echo', { value: 'new' })).resolves.toEqual({ host: 'h1', value: 'new' });
    expect(await seen(events, (e) => e.kind === 'call' && e.target === `${TOPIC}.h2`)).toMatchObject({ method: 'echo', sender: 'ferry-api:ctl' });
    expect(await seen(events, (e) => e.kind === 'call' && e.target === `${TOPIC}.h1`)).toMatchObject({ method: 'echo', sender: 'ferry-api:ctl' });
    // Each call once, though a returned one was published twice.
    expect(events.items.filter((e) => e.kind === 'call')).toHaveLength(2);
  });

  it('leaves a message no service takes undeliverable', async () => {
    await serve(await open('ferry-compute:h1'), 'h1');
    await tail(['h1', 'nowhere']);
    const client = new RpcClient<ConformanceEndpoint>(await open(), { topic: TOPIC, server: 'nowhere', version: '1.3' }, { timeoutMs: 3000 });
    await expect(client.cast(ctx, 'note', { value: 'lost' })).rejects.toBeInstanceOf(MessageUndeliverable);
    await expect(client.call(ctx, 'echo', { value: 1 })).rejects.toBeInstanceOf(MessageUndeliverable);
  });
});
