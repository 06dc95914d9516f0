// The AMQP transport: call lanes (falling back to the cast queues), topic exchange for casts, one reply queue per
// process, confirms for casts and notifications.
import { randomUUID } from 'node:crypto';
import type { Channel, ConsumeMessage, Message, Options } from 'amqplib';
import type { Logger } from '../../log';
import type { Envelope, Reply } from '../envelope';
import { MalformedMessage, MessageUndeliverable, MessagingUnavailable, callTimedOut, undeliverable } from '../errors';
import type { TopologyNames } from '../names';
import { PendingReplies } from '../pending-replies';
import { describeTarget, type ServerTarget, type Target } from '../target';
import {
  NOTIFY_TIMEOUT_MS,
  type ListenOptions,
  type Listener,
  type MessageHandler,
  type NotificationHandler,
  type NotificationMessage,
  type Transport,
  type TransportState,
} from '../transport';
import type { AmqpConnection, AmqpSession } from './connection';
import { AmqpListener } from './listener';
import { AmqpNotificationListener } from './notification-listener';
import { AmqpTap } from './tap';
import type { BusTap, TapHandler, TapOptions } from '../tap/tapped-message';
import { encodeNotification } from './oslo-notification';

/** An unused reply queue disappears after this long, should auto-delete never kick in. */
const REPLY_QUEUE_EXPIRES_MS = 60_000;
const JSON_TYPE = 'application/json';

interface OutgoingCall {
  readonly target: Target;
  readonly envelope: Envelope;
  readonly content: Buffer;
  readonly timeoutMs: number;
  /** Epoch ms at which the caller gives up. */
  readonly deadline: number;
}

/** A publish waiting for its confirm, and whether the broker returned it first (no queue took it). */
interface UnconfirmedPublish {
  returned: boolean;
}

export class AmqpTransport implements Transport {
  private readonly pending = new PendingReplies();
  private readonly listeners = new Set<AmqpListener | AmqpNotificationListener | AmqpTap>();
  private readonly replyQueue: string;
  /** Fanout exchanges declared on the session of that id: a publish to a missing exchange would kill the channel. */
  private fanoutDeclared = { session: 0, exchanges: new Set<string>() };
  /** Mandatory publishes on a confirm channel, by message id, until their confirm arrives. */
  private readonly unconfirmed = new Map<string, UnconfirmedPublish>();
  /** Calls waiting for their reply, by message id, so one the call lanes return can be sent again. */
  private readonly calling = new Map<string, OutgoingCall>();
  private readonly unsubscribe: () => void;
  /** The appId every publish carries, when this process named itself. */
  private readonly senderProps: { appId?: string };
  private closed = false;

  constructor(
    private readonly conn: AmqpConnection,
    private readonly names: TopologyNames,
    private readonly log: Logger,
    /** What this process calls itself on the bus (AMQP appId), so a tap can say who sent what. */
    sender?: string,
  ) {
    this.senderProps = sender === undefined ? {} : { appId: sender };
    this.replyQueue = `${names.replyExchange}_${randomUUID().replace(/-/g, '')}`;
    this.unsubscribe = conn.onStateChange((state) => {
      if (state !== 'disconnected') return;
      // Our reply queue went with the connection: no reply can reach these calls any more.
      this.pending.failAll(
        (method) => new MessagingUnavailable(`lost the connection to the message broker while waiting for a reply to ${method}`),
      );
    });
  }

  /** Must run before anything else on a session: declares the exchanges and the reply queue. */
  readonly setUpSession = async (session: AmqpSession): Promise<void> => {
    const ch = session.channel;
    await ch.assertExchange(this.names.exchange, 'topic', { durable: true });
    await ch.assertExchange(this.names.callExchange, 'direct', { durable: true });
    await ch.assertExchange(this.names.replyExchange, 'direct', { durable: true });
    // Declared on every session, not on first use: a publish to a missing exchange would kill the channel, and taps bind to it.
    await ch.assertExchange(this.names.notificationsExchange, 'topic', { durable: true });
    await ch.assertQueue(this.replyQueue, { durable: false, autoDelete: true, arguments: { 'x-expires': REPLY_QUEUE_EXPIRES_MS } });
    await ch.bindQueue(this.replyQueue, this.names.replyExchange, this.replyQueue);
    await ch.consume(this.replyQueue, (m) => this.onReply(m), { noAck: true });
    // Calls and direct casts are mandatory: what no queue takes comes back here instead of vanishing.
    ch.on('return', (m: Message) => this.onCallReturned(session, m));
    session.confirm.on('return', (m: Message) => this.onCastReturned(m));
  };

  get connected(): boolean {
    return this.conn.current !== undefined;
  }

  call(target: Target, envelope: Envelope, timeoutMs: number): Promise<unknown> {
    try {
      const deadline = Date.now() + timeoutMs;
      // The envelope is this call's own: the id and reply address go straight into it.
      envelope._msg_id = randomUUID();
      envelope._reply_q = this.replyQueue;
      const call: OutgoingCall = { target, envelope, content: Buffer.from(JSON.stringify(envelope)), timeoutMs, deadline };
      // Connected, the usual case: publish in this turn without awaiting anything.
      const session = this.closed ? undefined : this.conn.current;
      return (session && this.publishCall(session, call)) || this.callWhenConnected(call);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private async callWhenConnected(call: OutgoingCall): Promise<unknown> {
    for (;;) {
      const session = await this.sessionFor(call.deadline, call.target, call.envelope.method, call.timeoutMs);
      const reply = this.publishCall(session, call);
      if (reply) return reply;
    }
  }

  /** Publishes call and returns its reply; undefined when the session died under it (try the next one). */
  private publishCall(session: AmqpSession, call: OutgoingCall): Promise<unknown> | undefined {
    const { target, envelope, timeoutMs } = call;
    const msgId = envelope._msg_id as string;
    try {
      // To the call lane first; the broker returns it when no server there consumes one (onCallReturned falls back).
      this.sendCall(session, call, this.names.callExchange);
    } catch (err) {
      if (!session.alive || this.closed) return undefined;
      return Promise.reject(new MessagingUnavailable(`cannot publish ${envelope.method} to ${describeTarget(target)}: ${errorText(err)}`));
    }
    if (this.log.isLevelEnabled('debug')) this.log.debug({ method: envelope.method, target: describeTarget(target), msg_id: msgId }, 'RPC call sent');
    this.calling.set(msgId, call);
    // No reply can arrive before this turn ends, so waiting may begin after the publish.
    const reply = this.pending.wait(msgId, envelope.method, Math.max(1, call.deadline - Date.now()), () => callTimedOut(target, envelope.method, timeoutMs));
    return reply.finally(() => this.calling.delete(msgId));
  }

  /** Publishes call, mandatory, to exchange under its target's routing key; throws when the channel is gone. */
  private sendCall(session: AmqpSession, call: OutgoingCall, exchange: string): void {
    session.channel.publish(exchange, this.names.routingKey(call.target), call.content, {
      correlationId: call.envelope._msg_id as string,
      replyTo: this.replyQueue,
      // Nobody should start a call whose caller has given up on it.
      expiration: String(Math.ceil(Math.max(1, call.deadline - Date.now()))),
      contentType: JSON_TYPE,
      mandatory: true,
      ...this.senderProps,
    });
  }

  async cast(target: Target, envelope: Envelope, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const content = Buffer.from(JSON.stringify(envelope));
    const exchange = target.fanout ? this.names.fanoutExchange(target.topic) : this.names.exchange;
    const routingKey = target.fanout ? '' : this.names.routingKey(target);
    // Fanout casts only matter to servers running now; direct casts wait in durable queues, so they persist.
    // A fanout with no server bound is not an error: it tells whoever runs now, and a server that starts later
    // reconciles from the database anyway. A direct cast nobody's queue takes is lost work: it is mandatory.
    const options: Options.Publish = { contentType: JSON_TYPE, persistent: !target.fanout, ...(target.fanout ? {} : { mandatory: true }), ...this.senderProps };
    for (;;) {
      const session = await this.sessionFor(deadline, target, envelope.method, timeoutMs);
      try {
        if (target.fanout) await this.declareFanout(session, exchange);
        const returned = await this.confirmed(session, exchange, routingKey, content, options, deadline, `${envelope.method} to ${describeTarget(target)}`);
        if (returned) throw undeliverable(target, envelope.method, routingKey);
        if (this.log.isLevelEnabled('debug')) {
          this.log.debug({ method: envelope.method, target: describeTarget(target), msg_id: envelope._unique_id }, 'RPC cast sent');
        }
        return;
      } catch (err) {
        if (err instanceof MessagingUnavailable || err instanceof MessageUndeliverable) throw err;
        if (session.alive && !this.closed) {
          throw new MessagingUnavailable(`the message broker refused ${envelope.method} to ${describeTarget(target)}: ${errorText(err)}`);
        }
        // Not confirmed before the session died: publish again on the next (casts are at-least-once).
        this.log.debug({ method: envelope.method, err: errorText(err) }, 'RPC cast not confirmed before the connection dropped; retrying');
      }
    }
  }

  /**
   * Publishes a notification on the publish channel, without waiting for the broker's confirm: a notification is
   * information sent at most once, so the step it reports on pays no broker round trip for it (and the broker sends
   * no confirm). One channel keeps a publisher's notifications in order. Waits (up to the notify timeout) only
   * for a connection; one that drops while the message is still buffered loses it.
   */
  async notify(message: NotificationMessage): Promise<void> {
    const what = `notification ${message.event_type}`;
    const deadline = Date.now() + NOTIFY_TIMEOUT_MS;
    const content = encodeNotification(message);
    const routingKey = this.names.notificationRoutingKey(message.priority);
    // Taps are transient queues, so persisting the message would buy nothing.
    const options: Options.Publish = { contentType: JSON_TYPE, messageId: message.message_id, timestamp: Math.floor(Date.now() / 1000), ...this.senderProps };
    for (;;) {
      if (this.closed) throw new MessagingUnavailable(`cannot send ${what}: AMQP transport is closed`);
      const session = await this.conn.waitForSession(deadline);
      if (!session) {
        if (this.closed) throw new MessagingUnavailable(`cannot send ${what}: AMQP transport is closed`);
        throw new MessagingUnavailable(`cannot send ${what}: no connection to the message broker at ${this.conn.brokerUrl} within ${NOTIFY_TIMEOUT_MS} ms`);
      }
      try {
        session.channel.publish(this.names.notificationsExchange, routingKey, content, options);
        if (this.log.isLevelEnabled('debug')) this.log.debug({ event_type: message.event_type, message_id: message.message_id }, 'notification sent');
        return;
      } catch (err) {
        if (session.alive && !this.closed) throw new MessagingUnavailable(`cannot send ${what}: ${errorText(err)}`);
        // The channel closed with the session: publish on the next while time is left.
      }
    }
  }

  async listenNotifications(handler: NotificationHandler): Promise<Listener> {
    if (this.closed) throw new MessagingUnavailable('AMQP transport is closed');
    return this.track(new AmqpNotificationListener(this.conn, this.names, handler, this.log));
  }

  async tap(handler: TapHandler, opts: TapOptions): Promise<BusTap> {
    if (this.closed) throw new MessagingUnavailable('AMQP transport is closed');
    const tap = new AmqpTap(this.conn, this.names, handler, opts, this.log);
    const listener = await this.track(tap);
    return { stop: listener.stop, stats: () => tap.stats() };
  }

  async listen(target: ServerTarget, handler: MessageHandler, opts: ListenOptions): Promise<Listener> {
    if (this.closed) throw new MessagingUnavailable('AMQP transport is closed');
    return this.track(new AmqpListener(this.conn, this.names, target, handler, opts, this.sendReply, this.log));
  }

  /** Starts a listener and keeps it until stopped, so close() can stop whatever is still listening. */
  private async track(listener: AmqpListener | AmqpNotificationListener | AmqpTap): Promise<Listener> {
    await listener.start();
    this.listeners.add(listener);
    return {
      stop: async () => {
        this.listeners.delete(listener);
        await listener.stop();
      },
    };
  }

  onStateChange(listener: (state: TransportState) => void): () => void {
    return this.conn.onStateChange(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.pending.failAll((method) => new MessagingUnavailable(`transport closed while waiting for a reply to ${method}`));
    await Promise.all([...this.listeners].map((l) => l.stop()));
    this.listeners.clear();
    await this.conn.close();
  }

  private readonly sendReply = (replyTo: string, msgId: string, reply: Reply, channel: Channel): void => {
    const content = Buffer.from(JSON.stringify(reply));
    const options = { correlationId: msgId, contentType: JSON_TYPE, ...this.senderProps };
    try {
      // The request's own channel: the reply and the ack that follows it leave in one write.
      channel.publish(this.names.replyExchange, replyTo, content, options);
      return;
    } catch {
      // That channel died with its session while the handler ran; a newer session may still carry the reply.
    }
    const session = this.conn.current;
    if (!session) {
      // The request stays unacknowledged, so the broker redelivers it and the reply is sent then.
      this.log.warn({ msg_id: msgId }, 'RPC reply dropped: not connected to the message broker');
      return;
    }
    session.channel.publish(this.names.replyExchange, replyTo, content, options);
  };

  /**
   * A call no queue took. From the call lanes: no server there consumes one (a release before them), so it goes to the
   * cast queues under the same key, as such a server expects. From there too: fail it now rather than at its timeout.
   */
  private onCallReturned(session: AmqpSession, m: Message): void {
    const msgId = m.properties.correlationId as string | undefined;
    if (!msgId) return;
    const routingKey = m.fields.routingKey;
    const call = this.calling.get(msgId);
    if (m.fields.exchange === this.names.callExchange) {
      if (!call) return; // answered or given up meanwhile
      this.log.debug({ routing_key: routingKey, msg_id: msgId }, 'RPC call returned from the call lanes: sending it to the cast queues');
      try {
        this.sendCall(session, call, this.names.exchange);
      } catch (err) {
        // The session died: its disconnection fails every waiting call, this one included.
        this.log.debug({ msg_id: msgId, err: errorText(err) }, 'RPC call not sent to the cast queues');
      }
      return;
    }
    this.log.debug({ routing_key: routingKey, msg_id: msgId }, 'RPC call returned: no queue takes its routing key');
    this.pending.fail(msgId, undeliverable(targetOfRoutingKey(routingKey), methodOf(m), routingKey));
  }

  /** A cast no queue took; the broker confirms it right after, and the confirm then rejects the cast. */
  private onCastReturned(m: Message): void {
    const publish = this.unconfirmed.get(m.properties.messageId as string);
    if (publish) publish.returned = true;
  }

  private onReply(m: ConsumeMessage | null): void {
    if (m === null) return; // consumer cancelled: the session is being replaced
    const msgId = m.properties.correlationId as string | undefined;
    if (!msgId) return;
    let body: unknown;
    try {
      body = JSON.parse(m.content.toString('utf8'));
    } catch {
      this.pending.fail(msgId, new MalformedMessage('reply is not JSON'));
      return;
    }
    if (!this.pending.settle(msgId, body)) this.log.debug({ msg_id: msgId }, 'reply for a call nobody waits for any more');
  }

  private async sessionFor(deadline: number, target: Target, method: string, timeoutMs: number): Promise<AmqpSession> {
    if (this.closed) throw new MessagingUnavailable(`cannot send ${method} to ${describeTarget(target)}: AMQP transport is closed`);
    const session = await this.conn.waitForSession(deadline);
    if (session) return session;
    if (this.closed) throw new MessagingUnavailable(`cannot send ${method} to ${describeTarget(target)}: AMQP transport is closed`);
    throw new MessagingUnavailable(
      `cannot send ${method} to ${describeTarget(target)}: no connection to the message broker at ${this.conn.brokerUrl} within ${timeoutMs} ms`,
      { topic: target.topic, method, timeout_ms: timeoutMs },
    );
  }

  private async declareFanout(session: AmqpSession, exchange: string): Promise<void> {
    if (this.fanoutDeclared.session !== session.id) this.fanoutDeclared = { session: session.id, exchanges: new Set() };
    const declared = this.fanoutDeclared.exchanges;
    if (declared.has(exchange)) return;
    await session.channel.assertExchange(exchange, 'fanout', { durable: true });
    declared.add(exchange);
  }

  /**
   * Publishes on the confirm channel; resolves on the broker's ack, fails on a nack or at deadline. Resolves true when
   * a mandatory message came back unrouted: the broker returns it before acking it, so the ack settles both.
   */
  private confirmed(
    session: AmqpSession,
    exchange: string,
    routingKey: string,
    content: Buffer,
    options: Options.Publish,
    deadline: number,
    what: string,
  ): Promise<boolean> {
    // The return carries only the message: its own id ties it to this publish.
    const publishId = options.mandatory ? randomUUID() : undefined;
    const publish: UnconfirmedPublish = { returned: false };
    if (publishId) this.unconfirmed.set(publishId, publish);
    let timer: NodeJS.Timeout | undefined;
    const settled = (): void => {
      clearTimeout(timer);
      if (publishId) this.unconfirmed.delete(publishId);
    };
    return new Promise<boolean>((resolve, reject) => {
      timer = setTimeout(() => {
        settled();
        reject(new MessagingUnavailable(`the message broker did not confirm ${what} in time`));
      }, Math.max(1, deadline - Date.now()));
      try {
        session.confirm.publish(exchange, routingKey, content, publishId ? { ...options, messageId: publishId } : options, (err: unknown) => {
          settled();
          if (err) reject(err instanceof Error ? err : new Error(String(err)));
          else resolve(publish.returned);
        });
      } catch (err) {
        settled();
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }
}

/** The target a routing key `T` or `T.H` addresses (topics hold no dot, so the first one splits them). */
function targetOfRoutingKey(routingKey: string): Target {
  const dot = routingKey.indexOf('.');
  return dot < 0 ? { topic: routingKey } : { topic: routingKey.slice(0, dot), server: routingKey.slice(dot + 1) };
}

/** The method a returned message asked for, for the error; the message is our own envelope. */
function methodOf(m: Message): string {
  try {
    const method = (JSON.parse(m.content.toString('utf8')) as { method?: unknown }).method;
    return typeof method === 'string' ? method : 'unknown method';
  } catch {
    return 'unknown method';
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
