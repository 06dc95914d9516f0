// A bus tap on RabbitMQ: one exclusive, auto-deleting queue bound to the notifications exchange, the topics' fanouts,
// the reply exchange (under each caller's reply address, as its calls reveal it), the RPC exchange and the call
// exchange — there only under keys whose queues (cast queues, call lanes) already exist, so a message no service's
// queue takes still comes back to its sender as undeliverable, or as a call for the cast queues. Nothing the services declared is declared again or changed. Re-made on every session.
import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../../log';
import type { TopologyNames } from '../names';
import { hostOf } from '../tap/tail-filter';
import { tapClock, type BusTap, type TapHandler, type TapOptions, type TappedMessage, type TapStats } from '../tap/tapped-message';
import type { AmqpConnection, AmqpSession } from './connection';

/** Messages the broker keeps for a tap that lags; past this it drops the oldest (counted, see stats). */
export const TAP_MAX_BACKLOG = 100_000;
/**
 * Messages on their way to the tap, unacknowledged, at once: the rest wait in its queue, where they can be counted
 * (and dropped past the backlog) instead of piling up in this process. Acknowledged ACK_EVERY at a time; since
 * ACK_EVERY is well below the prefetch, the broker never stops for want of an acknowledgement.
 */
const PREFETCH = 1000;
const ACK_EVERY = 100;
/** Reply addresses bound at most: callers come and go, and each binding lives as long as the tap. */
const MAX_REPLY_BINDINGS = 10_000;

interface TapQueues {
  readonly session: AmqpSession;
  readonly channel: Channel;
  readonly queue: string;
  /** Where the broker dead-letters what it drops from `queue`, so drops can be counted. */
  readonly drops: string;
  readonly boundKeys: Set<string>;
  readonly boundReplies: Set<string>;
  /** Delivered since the last acknowledgement. */
  unacked: number;
}

export class AmqpTap implements BusTap {
  private readonly log: Logger;
  private readonly hosts: Set<string>;
  private readonly fanoutTopics = new Map<string, string>();
  private current?: TapQueues;
  private learning: Promise<void> = Promise.resolve();
  private dropped = 0;
  private stopped = false;

  constructor(
    private readonly conn: AmqpConnection,
    private readonly names: TopologyNames,
    private readonly handler: TapHandler,
    private readonly opts: TapOptions,
    log: Logger,
  ) {
    this.log = log.child({ component: 'bus-tap' });
    this.hosts = new Set(opts.hosts);
    for (const topic of opts.topics) this.fanoutTopics.set(names.fanoutExchange(topic), topic);
  }

  async start(): Promise<void> {
    await this.conn.addHook(this.consume);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.conn.removeHook(this.consume);
    const tap = this.current;
    this.current = undefined;
    await this.learning;
    // Both queues go now, not when the connection closes: the transport may outlive the tap (the API's does).
    if (tap) {
      await tap.channel.deleteQueue(tap.queue).catch(() => undefined);
      await tap.channel.deleteQueue(tap.drops).catch(() => undefined);
      await tap.channel.close().catch(() => undefined);
    }
  }

  async stats(): Promise<TapStats> {
    const tap = this.current;
    if (!tap) return { waiting: 0, dropped: this.dropped };
    const { messageCount } = await tap.channel.checkQueue(tap.queue);
    this.dropped += (await tap.channel.purgeQueue(tap.drops)).messageCount;
    return { waiting: messageCount, dropped: this.dropped };
  }

  private readonly consume = async (session: AmqpSession): Promise<void> => {
    const ch = await session.model.createChannel();
    ch.on('error', (err: Error) => this.log.warn({ err: err.message }, 'message broker closed the bus tap channel'));
    ch.on('close', () => {
      if (!this.stopped && this.current?.channel === ch && session.alive) this.conn.recycle(session, 'bus tap channel closed');
    });
    try {
      const { queue: drops } = await ch.assertQueue('', { exclusive: true, durable: false });
      const { queue } = await ch.assertQueue('', {
        exclusive: true, autoDelete: true, durable: false,
        arguments: {
          'x-max-length': this.opts.maxBacklog ?? TAP_MAX_BACKLOG, 'x-overflow': 'drop-head', 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': drops,
        },
      });
      const tap: TapQueues = { session, channel: ch, queue, drops, boundKeys: new Set(), boundReplies: new Set(), unacked: 0 };
      await ch.bindQueue(queue, this.names.notificationsExchange, '#');
      for (const [exchange] of this.fanoutTopics) {
        if (await this.exists(session, (probe) => probe.checkExchange(exchange))) await ch.bindQueue(queue, exchange, '');
      }
      await this.bindServers(tap, [...this.hosts]);
      if (this.stopped) {
        await ch.close().catch(() => undefined);
        return;
      }
      this.current = tap;
      await ch.prefetch(PREFETCH);
      await ch.consume(queue, (m) => this.onDelivery(tap, m));
      this.log.debug({ queue }, 'tapping the bus');
    } catch (err) {
      if (this.current?.channel === ch) this.current = undefined;
      await ch.close().catch(() => undefined);
      throw err;
    }
  };

  /** Binds the RPC keys of hosts (and the topics' shared keys) whose queues exist: cast queues and call lanes. */
  private async bindServers(tap: TapQueues, hosts: string[]): Promise<void> {
    const { names } = this;
    for (const topic of this.opts.topics) {
      for (const target of [{ topic }, ...hosts.map((server) => ({ topic, server }))]) {
        const key = names.routingKey(target);
        for (const [exchange, queue] of [[names.exchange, names.queueFor(target)], [names.callExchange, names.callQueueFor(target)]]) {
          const bound = `${exchange} ${key}`;
          if (tap.boundKeys.has(bound)) continue;
          // A key whose queue does not exist stays unbound: the tap must not make an undeliverable message deliverable
          // (nor keep a call from falling back from a call lane nobody consumes to the cast queues).
          if (!(await this.exists(tap.session, (probe) => probe.checkQueue(queue)))) continue;
          await tap.channel.bindQueue(tap.queue, exchange, key);
          tap.boundKeys.add(bound);
        }
      }
    }
  }

  /** Whether a passive check succeeds, on a throwaway channel (a failed check closes its channel). */
  private async exists(session: AmqpSession, check: (probe: Channel) => Promise<unknown>): Promise<boolean> {
    const probe = await session.model.createChannel();
    probe.on('error', () => undefined);
    try {
      await check(probe);
      await probe.close().catch(() => undefined);
      return true;
    } catch {
      return false;
    }
  }

  private onDelivery(tap: TapQueues, m: ConsumeMessage | null): void {
    if (m === null) {
      if (!this.stopped) this.conn.recycle(tap.session, 'broker cancelled the bus tap');
      return;
    }
    if (++tap.unacked >= ACK_EVERY) {
      tap.unacked = 0;
      try {
        tap.channel.ack(m, true);
      } catch {
        // The channel died with its session; the tap is re-made on the next one.
      }
    }
    const message = this.tapped(m);
    if (!message) return;
    if (message.route === 'rpc') this.followReplies(tap, m.properties.replyTo as string | undefined);
    if (message.sender !== undefined) this.learnHost(tap, message.sender);
    try {
      this.handler(message);
    } catch (err) {
      this.log.error({ err }, 'bus tap handler crashed');
    }
  }

  private tapped(m: ConsumeMessage): TappedMessage | undefined {
    const { exchange, routingKey } = m.fields;
    const common = {
      at: tapClock(),
      body: m.content.toString('utf8'),
      ...(typeof m.properties.correlationId === 'string' ? { msgId: m.properties.correlationId } : {}),
      ...(typeof m.properties.appId === 'string' ? { sender: m.properties.appId } : {}),
    };
    if (exchange === this.names.exchange || exchange === this.names.callExchange) return { ...common, route: 'rpc', address: routingKey };
    if (exchange === this.names.replyExchange) return { ...common, route: 'reply', address: routingKey };
    if (exchange === this.names.notificationsExchange) return { ...common, route: 'notification', address: routingKey };
    const topic = this.fanoutTopics.get(exchange);
    return topic === undefined ? undefined : { ...common, route: 'fanout', address: topic };
  }

  /** Binds the caller's reply address on first sight: its replies, this one's included if the binding wins the race. */
  private followReplies(tap: TapQueues, replyTo: string | undefined): void {
    if (!replyTo || tap.boundReplies.has(replyTo) || tap.boundReplies.size >= MAX_REPLY_BINDINGS) return;
    tap.boundReplies.add(replyTo);
    tap.channel.bindQueue(tap.queue, this.names.replyExchange, replyTo).catch(() => undefined);
  }

  /** A sender on a host the tap did not know: bind that host's queues too. */
  private learnHost(tap: TapQueues, sender: string): void {
    const host = hostOf(sender);
    if (host === undefined || this.hosts.has(host)) return;
    this.hosts.add(host);
    this.learning = this.learning
      .then(() => (this.stopped || this.current !== tap ? undefined : this.bindServers(tap, [host])))
      .catch((err: unknown) => this.log.debug({ err: (err as Error).message, host }, 'could not bind a host the bus tap learned of'));
  }
}
