// The in-process transport: AMQP's delivery semantics (shared, per-server and fanout queues, call lanes, notification
// taps) without a broker.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../log';
import type { Envelope, Reply } from '../envelope';
import { MessagingUnavailable, callTimedOut, undeliverable } from '../errors';
import { InFlight } from '../in-flight';
import { topologyNames, type TopologyNames } from '../names';
import { PendingReplies } from '../pending-replies';
import { describeTarget, type ServerTarget, type Target } from '../target';
import {
  started,
  type IncomingMessage,
  type ListenOptions,
  type Listener,
  type MessageHandler,
  type NotificationHandler,
  type NotificationMessage,
  type Transport,
  type TransportState,
} from '../transport';
import { tapClock, type BusTap, type TapHandler, type TappedMessage } from '../tap/tapped-message';
import { BusConsumer, BusQueue, acquireBus, releaseBus, type BusMessage, type InprocBus } from './bus';

export class InprocTransport implements Transport {
  private readonly bus: InprocBus;
  private readonly names: TopologyNames;
  private readonly address = `reply_${randomUUID()}`;
  private readonly pending = new PendingReplies();
  private readonly listeners = new Set<Listener>();
  private closed = false;

  constructor(
    private readonly url: string,
    prefix: string,
    private readonly log: Logger,
    /** What this process calls itself, for taps. */
    private readonly sender?: string,
  ) {
    this.bus = acquireBus(url);
    this.names = topologyNames(prefix);
    this.bus.openReplyBox(this.address, (msgId, body) => {
      if (!this.pending.settle(msgId, JSON.parse(body))) this.log.debug({ msg_id: msgId }, 'reply for a call nobody waits for');
    });
  }

  get connected(): boolean {
    return !this.closed;
  }

  async call(target: Target, envelope: Envelope, timeoutMs: number): Promise<unknown> {
    this.checkOpen(envelope.method, target);
    const msgId = randomUUID();
    const body = JSON.stringify({ ...envelope, _msg_id: msgId, _reply_q: this.address });
    const message: BusMessage = { body, expiresAt: Date.now() + timeoutMs, replyTo: this.address, msgId };
    // As on RabbitMQ: the call lane, or the cast queue where no server consumes a call lane.
    const delivered = this.bus.publish(this.names.callQueueFor(target), message) || this.bus.publish(this.names.queueFor(target), message);
    if (!delivered) throw undeliverable(target, envelope.method, this.names.routingKey(target));
    if (this.bus.tapped) this.observe({ route: 'rpc', address: this.names.routingKey(target), body, msgId });
    this.log.debug({ method: envelope.method, target: describeTarget(target), msg_id: msgId }, 'RPC call sent');
    // Delivery and reply both happen on later turns, so waiting may begin after the publish.
    return this.pending.wait(msgId, envelope.method, timeoutMs, () => callTimedOut(target, envelope.method, timeoutMs));
  }

  async cast(target: Target, envelope: Envelope, _timeoutMs: number): Promise<void> {
    this.checkOpen(envelope.method, target);
    const message: BusMessage = { body: JSON.stringify(envelope) };
    // As on RabbitMQ: a fanout reaches whoever runs now, possibly nobody; a direct cast no queue takes is an error.
    if (target.fanout) this.bus.publishFanout(this.names.fanoutExchange(target.topic), message);
    else if (!this.bus.publish(this.names.queueFor(target), message)) throw undeliverable(target, envelope.method, this.names.routingKey(target));
    if (this.bus.tapped) {
      this.observe(target.fanout ? { route: 'fanout', address: target.topic, body: message.body } : { route: 'rpc', address: this.names.routingKey(target), body: message.body });
    }
    this.log.debug({ method: envelope.method, target: describeTarget(target), msg_id: envelope._unique_id }, 'RPC cast sent');
  }

  async listen(target: ServerTarget, handler: MessageHandler, opts: ListenOptions): Promise<Listener> {
    if (this.closed) throw new MessagingUnavailable('in-process transport is closed');
    const listener = new InprocListener(this.bus, this.names, target, handler, opts, this.log, () => this.listeners.delete(listener), this.sender);
    this.listeners.add(listener);
    return listener;
  }

  async notify(message: NotificationMessage): Promise<void> {
    if (this.closed) throw new MessagingUnavailable(`cannot send notification ${message.event_type}: in-process transport is closed`);
    this.log.debug({ event_type: message.event_type, message_id: message.message_id }, 'notification sent');
    // A fanout of the exchange's name stands for the topic exchange every tap binds to with '#'.
    const body = JSON.stringify(message);
    this.bus.publishFanout(this.names.notificationsExchange, { body });
    if (this.bus.tapped) this.observe({ route: 'notification', address: this.names.notificationRoutingKey(message.priority), body });
  }

  async tap(handler: TapHandler): Promise<BusTap> {
    if (this.closed) throw new MessagingUnavailable('in-process transport is closed');
    // In process, a tap sees every message as it is sent: nothing waits for it and nothing is dropped.
    this.bus.addTap(handler);
    let stopped = false;
    const tap: BusTap = {
      stats: async () => ({ waiting: 0, dropped: 0 }),
      stop: async () => {
        if (stopped) return;
        stopped = true;
        this.bus.removeTap(handler);
        this.listeners.delete(tap);
      },
    };
    this.listeners.add(tap);
    return tap;
  }

  /** Tells the bus's taps about a message this transport sent. */
  private observe(m: Omit<TappedMessage, 'at' | 'sender'>): void {
    this.bus.observe({ at: tapClock(), ...m, ...(this.sender !== undefined ? { sender: this.sender } : {}) });
  }

  async listenNotifications(handler: NotificationHandler): Promise<Listener> {
    if (this.closed) throw new MessagingUnavailable('in-process transport is closed');
    const listener = new InprocNotificationListener(this.bus, this.names.notificationsExchange, handler, this.log, () => this.listeners.delete(listener));
    this.listeners.add(listener);
    return listener;
  }

  onStateChange(_listener: (state: TransportState) => void): () => void {
    // Always connected until closed; close() is the caller's own doing.
    return () => undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pending.failAll((method) => new MessagingUnavailable(`transport closed while waiting for a reply to ${method}`));
    await Promise.all([...this.listeners].map((l) => l.stop()));
    this.bus.closeReplyBox(this.address);
    releaseBus(this.url, this.bus);
  }

  private checkOpen(method: string, target: Target): void {
    if (this.closed) throw new MessagingUnavailable(`cannot send ${method} to ${describeTarget(target)}: in-process transport is closed`);
  }
}

/**
 * One server's consumers: one on its topic's shared queue, its own queue and its own fanout queue; another, with a
 * window of its own, on its topic's and its own call lanes.
 */
class InprocListener implements Listener {
  private readonly attached: [BusQueue, BusConsumer][] = [];
  private readonly fanoutQueue = new BusQueue();
  private readonly fanoutExchange: string;
  private readonly inFlight = new InFlight();
  private stopped = false;

  constructor(
    private readonly bus: InprocBus,
    names: TopologyNames,
    target: ServerTarget,
    handler: MessageHandler,
    opts: ListenOptions,
    log: Logger,
    private readonly onStop: () => void,
    sender?: string,
  ) {
    const consumer = (capacity: number) =>
      new BusConsumer(capacity, (m) => {
        this.inFlight.begin();
        return started(handler, incoming(bus, m, sender))
          .catch((err: unknown) => log.error({ err }, 'RPC message handler crashed'))
          .finally(() => this.inFlight.end());
      });
    this.fanoutExchange = names.fanoutExchange(target.topic);
    bus.bindFanout(this.fanoutExchange, this.fanoutQueue);
    const casts = consumer(opts.concurrency);
    for (const q of [bus.declareQueue(names.sharedQueue(target.topic)), bus.declareQueue(names.serverQueue(target)), this.fanoutQueue]) {
      this.attached.push([q, casts]);
    }
    if (opts.callConcurrency !== undefined) {
      const calls = consumer(opts.callConcurrency);
      for (const lane of [{ topic: target.topic }, target]) this.attached.push([bus.declareQueue(names.callQueueFor(lane)), calls]);
    }
    for (const [q, c] of this.attached) q.attach(c);
  }

  async stop(): Promise<void> {
    if (this.stopped) return this.inFlight.drain();
    this.stopped = true;
    for (const [q, c] of this.attached) q.detach(c);
    this.bus.unbindFanout(this.fanoutExchange, this.fanoutQueue);
    this.onStop();
    await this.inFlight.drain();
  }
}

function incoming(bus: InprocBus, m: BusMessage, sender: string | undefined): IncomingMessage {
  const { replyTo, msgId } = m;
  return {
    body: JSON.parse(m.body),
    redelivered: false,
    ...(replyTo !== undefined && msgId !== undefined ? { reply: (reply: Reply) => sendReply(bus, replyTo, msgId, reply, sender) } : {}),
  };
}

function sendReply(bus: InprocBus, replyTo: string, msgId: string, reply: Reply, sender: string | undefined): void {
  const body = JSON.stringify(reply);
  bus.reply(replyTo, msgId, body);
  if (bus.tapped) bus.observe({ at: tapClock(), route: 'reply', address: replyTo, body, msgId, ...(sender !== undefined ? { sender } : {}) });
}

/** A notification tap: its own queue on the notifications exchange, handled one message at a time so order holds. */
class InprocNotificationListener implements Listener {
  private readonly consumer: BusConsumer;
  private readonly queue = new BusQueue();
  private readonly inFlight = new InFlight();
  private stopped = false;

  constructor(
    private readonly bus: InprocBus,
    private readonly exchange: string,
    handler: NotificationHandler,
    log: Logger,
    private readonly onStop: () => void,
  ) {
    this.consumer = new BusConsumer(1, async (m) => {
      if (this.stopped) return;
      this.inFlight.begin();
      try {
        await handler(JSON.parse(m.body) as NotificationMessage);
      } catch (err) {
        log.error({ err }, 'notification handler crashed');
      } finally {
        this.inFlight.end();
      }
    });
    bus.bindFanout(exchange, this.queue);
    this.queue.attach(this.consumer);
  }

  async stop(): Promise<void> {
    if (this.stopped) return this.inFlight.drain();
    this.stopped = true;
    this.queue.detach(this.consumer);
    this.bus.unbindFanout(this.exchange, this.queue);
    this.onStop();
    await this.inFlight.drain();
  }
}
