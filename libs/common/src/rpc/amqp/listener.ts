// One server's consumers: shared queue `T`, own queue `T.H` and an exclusive queue on `T_fanout`, re-made on every session.
import { randomUUID } from 'node:crypto';
import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../../log';
import type { Reply } from '../envelope';
import { InFlight } from '../in-flight';
import type { TopologyNames } from '../names';
import type { ServerTarget } from '../target';
import { started, type IncomingMessage, type ListenOptions, type Listener, type MessageHandler } from '../transport';
import type { AmqpConnection, AmqpSession } from './connection';

/** Publishes the reply of the call msgId to the reply queue replyTo, on channel when it is still open. */
export type Replier = (replyTo: string, msgId: string, reply: Reply, channel: Channel) => void;

export class AmqpListener implements Listener {
  private readonly inFlight = new InFlight();
  private readonly fanoutQueue: string;
  private readonly log: Logger;
  private channel?: Channel;
  private consumerTags: string[] = [];
  private stopped = false;

  constructor(
    private readonly conn: AmqpConnection,
    private readonly names: TopologyNames,
    private readonly target: ServerTarget,
    private readonly handler: MessageHandler,
    private readonly opts: ListenOptions,
    private readonly replier: Replier,
    log: Logger,
  ) {
    this.log = log.child({ topic: target.topic, server: target.server });
    this.fanoutQueue = `${names.fanoutExchange(target.topic)}_${randomUUID().replace(/-/g, '')}`;
  }

  async start(): Promise<void> {
    await this.conn.addHook(this.consume);
  }

  async stop(): Promise<void> {
    if (this.stopped) return this.inFlight.drain();
    this.stopped = true;
    this.conn.removeHook(this.consume);
    const ch = this.channel;
    this.channel = undefined;
    if (ch) {
      for (const tag of this.consumerTags) await ch.cancel(tag).catch(() => undefined);
    }
    await this.inFlight.drain();
    if (ch) await ch.close().catch(() => undefined);
  }

  private readonly consume = async (session: AmqpSession): Promise<void> => {
    const { target } = this;
    const ch = await session.model.createChannel();
    ch.on('error', (err: Error) => this.log.warn({ err: err.message }, 'message broker closed an RPC server channel'));
    ch.on('close', () => {
      if (!this.stopped && this.channel === ch && session.alive) this.conn.recycle(session, `consumer channel of ${target.topic}.${target.server} closed`);
    });
    try {
      await this.declareAndConsume(session, ch);
    } catch (err) {
      // Leave nothing half set up behind: a consumer on one queue of three would take messages nobody handles right.
      if (this.channel === ch) this.channel = undefined;
      await ch.close().catch(() => undefined);
      throw err;
    }
  };

  private async declareAndConsume(session: AmqpSession, ch: Channel): Promise<void> {
    const { names, target } = this;
    await ch.prefetch(this.opts.concurrency);
    const shared = names.sharedQueue(target.topic);
    const own = names.serverQueue(target);
    const fanout = names.fanoutExchange(target.topic);
    await ch.assertQueue(shared, { durable: true });
    await ch.bindQueue(shared, names.exchange, names.routingKey({ topic: target.topic }));
    await ch.assertQueue(own, { durable: true });
    await ch.bindQueue(own, names.exchange, names.routingKey(target));
    await ch.assertExchange(fanout, 'fanout', { durable: true });
    await ch.assertQueue(this.fanoutQueue, { exclusive: true, autoDelete: true, durable: false });
    await ch.bindQueue(this.fanoutQueue, fanout, '');
    const tags: string[] = [];
    for (const queue of [shared, own, this.fanoutQueue]) {
      if (this.stopped) break;
      tags.push((await ch.consume(queue, (m) => this.onDelivery(session, ch, m))).consumerTag);
    }
    if (this.stopped) {
      await ch.close().catch(() => undefined);
      return;
    }
    // Only now is ch the live channel whose unexpected close means "start over".
    this.channel = ch;
    this.consumerTags = tags;
    this.log.debug({ queues: [shared, own, this.fanoutQueue] }, 'consuming RPC queues');
  }

  private onDelivery(session: AmqpSession, ch: Channel, m: ConsumeMessage | null): void {
    if (m === null) {
      // The broker cancelled the consumer (its queue was deleted): start over on a fresh session.
      if (!this.stopped) this.conn.recycle(session, `broker cancelled a consumer of ${this.target.topic}.${this.target.server}`);
      return;
    }
    if (this.stopped) {
      // Arrived between cancel and cancel-ok: leave it to another server.
      safely(() => ch.nack(m, false, true));
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(m.content.toString('utf8'));
    } catch {
      this.log.warn({ routing_key: m.fields.routingKey }, 'dropping an RPC message that is not JSON');
      safely(() => ch.ack(m));
      return;
    }
    const { replyTo, correlationId } = m.properties as { replyTo?: string; correlationId?: string };
    const message: IncomingMessage = {
      body,
      redelivered: m.fields.redelivered,
      ...(replyTo && correlationId ? { reply: (reply: Reply) => this.replier(replyTo, correlationId, reply, ch) } : {}),
    };
    this.inFlight.begin();
    started(this.handler, message).then(
      () => this.finish(ch, m),
      (err: unknown) => {
        this.log.error({ err }, 'RPC message handler crashed');
        this.finish(ch, m);
      },
    );
  }

  private finish(ch: Channel, m: ConsumeMessage): void {
    // On a channel that died meanwhile the broker has already requeued the message.
    if (!safely(() => ch.ack(m))) this.log.debug('acknowledgement lost with its channel; the broker redelivers the message');
    this.inFlight.end();
  }
}

function safely(fn: () => void): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}
