// Versioned notifications end to end: a Notifier publishes and listenNotifications taps receive, on RabbitMQ and in-process.
import { silentLogger } from '@ferry/common/log';
import {
  Notifier,
  instanceActionPayload,
  unwrapNovaObject,
  withNotifications,
  type InstanceSnapshot,
} from '@ferry/common/notify';
import {
  MessagingUnavailable,
  NOTIFY_TIMEOUT_MS,
  createTransport,
  type Listener,
  type NotificationMessage,
  type Transport,
  type TransportState,
} from '@ferry/common/rpc';
import { connect, type ConsumeMessage } from 'amqplib';
import { TcpProxy, deleteExchange, deleteRpcTopology, exchangeExists, randomPrefix, testTransportUrl } from '../../support/amqp';
import { Inbox } from './conformance';

const brokerUrl = testTransportUrl();
const PUBLISHER = 'ferry-compute:compute-1';

/** How a run opens transports: every transport opened with one prefix shares one bus. */
interface Harness {
  readonly name: string;
  open(prefix: string): Promise<Transport>;
  cleanup(prefix: string): Promise<void>;
}

const harnesses: Harness[] = [
  {
    name: 'in-process',
    open: (prefix) => createTransport({ url: `inproc://notifications-${prefix}`, prefix }),
    cleanup: async () => undefined,
  },
  {
    name: 'AMQP',
    open: (prefix) => createTransport({ url: brokerUrl, prefix }),
    cleanup: (prefix) => deleteRpcTopology(brokerUrl, { prefix, topics: [], servers: [] }),
  },
];

const row: InstanceSnapshot = {
  uuid: '0c5e5d8e-93a4-4e33-9f2b-8f0f6f6a1d10',
  display_name: 'db-1',
  project_id: 'p-1',
  user_id: 'u-1',
  host: 'compute-1',
  node: 'compute-1',
  flavor: { id: 1, flavorid: '1', name: 'm1.small', vcpus: 1, memory_mb: 2048, root_gb: 20, ephemeral_gb: 0, swap: 0, extra_specs: {} },
  image_ref: 'img-1',
  vm_state: 'active',
  task_state: 'resize_migrating',
  power_state: 1,
  progress: 0,
  locked: false,
  metadata: {},
  launched_at: new Date('2024-05-01T10:00:00Z'),
  created_at: new Date('2024-05-01T09:00:00Z'),
  updated_at: new Date('2024-05-01T10:00:00Z'),
  deleted_at: null,
};

/** A transport whose notify also records what it was asked to send, for comparing with what a tap got. */
function recording(transport: Transport): { notify: Transport['notify']; sent: NotificationMessage[] } {
  const sent: NotificationMessage[] = [];
  return {
    sent,
    notify: (m) => {
      sent.push(m);
      return transport.notify(m);
    },
  };
}

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

describe.each(harnesses)('notifications: $name', (harness) => {
  let prefix: string;
  let transports: Transport[];
  let taps: Listener[];

  beforeEach(() => {
    prefix = randomPrefix();
    transports = [];
    taps = [];
  });

  afterEach(async () => {
    await Promise.all(taps.map((t) => t.stop()));
    await Promise.all(transports.map((t) => t.close()));
    await harness.cleanup(prefix);
  });

  async function open(): Promise<Transport> {
    const t = await harness.open(prefix);
    transports.push(t);
    return t;
  }

  async function tap(transport: Transport, handler?: (m: NotificationMessage) => void): Promise<Inbox<NotificationMessage>> {
    const inbox = new Inbox<NotificationMessage>();
    taps.push(
      await transport.listenNotifications((m) => {
        inbox.push(m);
        handler?.(m);
      }),
    );
    return inbox;
  }

  it('delivers exactly the message a Notifier sent, to a tap on another transport', async () => {
    const [publisher, listener] = [await open(), await open()];
    const inbox = await tap(listener);
    const rec = recording(publisher);
    await new Notifier(rec, PUBLISHER, silentLogger()).info('instance.resize.start', instanceActionPayload(row));

    const [got] = await inbox.waitFor(1);
    expect(got).toEqual(rec.sent[0]);
    expect(got).toMatchObject({ publisher_id: PUBLISHER, event_type: 'instance.resize.start', priority: 'INFO' });
    expect(unwrapNovaObject(got.payload)).toMatchObject({ uuid: row.uuid, power_state: 'running', flavor: { name: 'm1.small' } });
  });

  it('gives every tap its own copy, on the publishing transport too', async () => {
    const [publisher, listener] = [await open(), await open()];
    const [a, b, own] = [await tap(listener), await tap(listener), await tap(publisher)];
    await new Notifier(publisher, PUBLISHER, silentLogger()).info('instance.rescue.start', instanceActionPayload(row));
    for (const inbox of [a, b, own]) expect((await inbox.waitFor(1)).map((m) => m.event_type)).toEqual(['instance.rescue.start']);
  });

  it('carries .start, .end and .error of withNotifications in order, the error at ERROR with its fault', async () => {
    const transport = await open();
    const inbox = await tap(await open());
    const notifier = new Notifier(transport, PUBLISHER, silentLogger());
    await withNotifications(notifier, 'instance.resize', () => instanceActionPayload(row), async () => 'moved');
    const failure = new Error('destination disk full');
    await expect(
      withNotifications(notifier, 'instance.resize_finish', () => instanceActionPayload(row), () => Promise.reject(failure)),
    ).rejects.toBe(failure);

    const got = await inbox.waitFor(4);
    expect(got.map((m) => [m.event_type, m.priority])).toEqual([
      ['instance.resize.start', 'INFO'],
      ['instance.resize.end', 'INFO'],
      ['instance.resize_finish.start', 'INFO'],
      ['instance.resize_finish.error', 'ERROR'],
    ]);
    expect(unwrapNovaObject(got[3].payload)).toMatchObject({ fault: { exception: 'Error', exception_message: 'destination disk full' } });
  });

  it('keeps tapping after a handler throws, and stops delivering once stopped', async () => {
    const transport = await open();
    const crashing = await tap(transport, (m) => {
      if (m.event_type === 'instance.evacuate') throw new Error('handler bug');
    });
    const stopping = await tap(transport);
    const notifier = new Notifier(transport, PUBLISHER, silentLogger());
    await notifier.info('instance.evacuate', instanceActionPayload(row));
    await stopping.waitFor(1);
    await taps[1].stop();

    await notifier.info('instance.unrescue.start', instanceActionPayload(row));
    expect((await crashing.waitFor(2)).map((m) => m.event_type)).toEqual(['instance.evacuate', 'instance.unrescue.start']);
    // The other tap got the second message, so a stopped tap still bound would have had it by now.
    await new Promise((r) => setTimeout(r, 50));
    expect(stopping.items.map((m) => m.event_type)).toEqual(['instance.evacuate']);
  });

  it('refuses to notify on a closed transport; a Notifier swallows that', async () => {
    const transport = await open();
    await transport.close();
    const message = { message_id: 'm', publisher_id: PUBLISHER, event_type: 'x', priority: 'INFO', timestamp: '', payload: instanceActionPayload(row) } as const;
    await expect(transport.notify(message)).rejects.toBeInstanceOf(MessagingUnavailable);
    await expect(transport.listenNotifications(() => undefined)).rejects.toBeInstanceOf(MessagingUnavailable);
    await expect(new Notifier(transport, PUBLISHER, silentLogger()).info('x', instanceActionPayload(row))).resolves.toBeUndefined();
  });
});

describe('notifications on RabbitMQ', () => {
  let prefix: string;
  let transports: Transport[];
  let taps: Listener[];
  let proxy: TcpProxy | undefined;

  beforeEach(() => {
    prefix = randomPrefix();
    transports = [];
    taps = [];
    proxy = undefined;
  });

  afterEach(async () => {
    await Promise.all(taps.map((t) => t.stop()));
    await Promise.all(transports.map((t) => t.close()));
    await proxy?.close();
    await deleteRpcTopology(brokerUrl, { prefix, topics: [], servers: [] });
  });

  async function open(url = brokerUrl): Promise<Transport> {
    const t = await createTransport({ url, prefix, reconnect: { initialDelayMs: 50, maxDelayMs: 200 } });
    transports.push(t);
    return t;
  }

  /** A publisher and a listener tapping the notifications into an inbox, `proxied` one of them through a new proxy. */
  async function publisherAndTap(
    proxied: 'publisher' | 'listener',
  ): Promise<{ link: TcpProxy; publisher: Transport; listener: Transport; inbox: Inbox<NotificationMessage> }> {
    const link = await TcpProxy.start(brokerUrl);
    proxy = link;
    const listener = await open(proxied === 'listener' ? link.urlFor(brokerUrl) : brokerUrl);
    const publisher = await open(proxied === 'publisher' ? link.urlFor(brokerUrl) : brokerUrl);
    const inbox = new Inbox<NotificationMessage>();
    taps.push(await listener.listenNotifications((m) => inbox.push(m)));
    return { link, publisher, listener, inbox };
  }

  it("puts oslo's envelope on the wire, on the topic exchange under versioned_notifications.<priority>", async () => {
    const transport = await open();
    const exchange = `${prefix}ferry_notifications`;
    // A raw consumer, as a non-Ferry one (ceilometer, an operator's script) would bind: errors only.
    const model = await connect(brokerUrl);
    try {
      const ch = await model.createChannel();
      const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true });
      await ch.bindQueue(queue, exchange, 'versioned_notifications.error');
      const raw = new Inbox<ConsumeMessage>();
      await ch.consume(queue, (m) => m && raw.push(m), { noAck: true });

      const rec = recording(transport);
      const notifier = new Notifier(rec, PUBLISHER, silentLogger());
      await notifier.info('instance.live_migration_pre.start', instanceActionPayload(row));
      await notifier.error('compute_task.migrate_server.error', instanceActionPayload(row));

      const [m] = await raw.waitFor(1);
      expect(m.fields).toMatchObject({ exchange, routingKey: 'versioned_notifications.error' });
      const body = JSON.parse(m.content.toString('utf8')) as Record<string, unknown>;
      expect(body['oslo.version']).toBe('2.0');
      expect(typeof body['oslo.message']).toBe('string');
      expect(JSON.parse(body['oslo.message'] as string)).toEqual(rec.sent[1]);
      // The INFO message went to versioned_notifications.info, which this queue is not bound to.
      await new Promise((r) => setTimeout(r, 50));
      expect(raw.items).toHaveLength(1);
    } finally {
      await model.close();
    }
  });

  it('declares the notifications exchange on connecting, before anyone publishes', async () => {
    await open();
    expect(await exchangeExists(brokerUrl, `${prefix}ferry_notifications`)).toBe(true);
  });

  it('re-declares the exchange and re-binds a tap after the connection drops', async () => {
    const { link, publisher, listener, inbox } = await publisherAndTap('listener');
    const notifier = new Notifier(publisher, PUBLISHER, silentLogger());
    await notifier.info('instance.live_migration_post.start', instanceActionPayload(row));
    await inbox.waitFor(1);

    // Gone with its bindings, as after a broker that lost its definitions; only the reconnection can bring it back.
    await deleteExchange(brokerUrl, `${prefix}ferry_notifications`);
    const reconnected = next(listener, 'connected');
    link.dropAll();
    await reconnected;

    await notifier.info('instance.live_migration_post.end', instanceActionPayload(row));
    expect((await inbox.waitFor(2)).map((m) => m.event_type)).toEqual(['instance.live_migration_post.start', 'instance.live_migration_post.end']);
  });

  it('sends a notification without waiting for the broker to confirm it; a tap receives it all the same', async () => {
    const { link, publisher, inbox } = await publisherAndTap('publisher');
    link.holdFromBroker();
    try {
      const sent = new Notifier(publisher, PUBLISHER, silentLogger()).info('instance.resize.start', instanceActionPayload(row));
      // A confirmed publish would wait here for the confirm the proxy holds, up to the notify timeout.
      const first = await Promise.race([sent.then(() => 'sent'), new Promise((r) => setTimeout(() => r('waiting'), NOTIFY_TIMEOUT_MS / 2))]);
      expect(first).toBe('sent');
      expect((await inbox.waitFor(1)).map((m) => m.event_type)).toEqual(['instance.resize.start']);
    } finally {
      link.releaseFromBroker();
    }
  });

  it('gives up on a notification within the notify timeout while the broker is unreachable', async () => {
    proxy = await TcpProxy.start(brokerUrl);
    const transport = await open(proxy.urlFor(brokerUrl));
    const lost = next(transport, 'disconnected');
    proxy.refuse();
    proxy.dropAll();
    await lost;

    const started = Date.now();
    await new Notifier(transport, PUBLISHER, silentLogger()).info('instance.resize_revert.start', instanceActionPayload(row));
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(NOTIFY_TIMEOUT_MS - 50);
    expect(waited).toBeLessThan(NOTIFY_TIMEOUT_MS + 1000);
    proxy.accept();
  });
});
