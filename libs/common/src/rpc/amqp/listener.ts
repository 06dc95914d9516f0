// One server's consumers, re-made on every session: shared queue `T`, own queue `T.H` and an exclusive queue on
// `T_fanout` on one channel; call lanes `T:call` and `T:call.H` on another, with a window of their own.
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

/**
 * A call lane no server has consumed for this long is deleted by the broker, so that callers fall back to the cast
 * queues of a server that went back to a release without call lanes. Long enough to outlast any restart and any call's
 * timeout, so a call sent while its server restarts still waits for it in the lane.
 */
export const CALL_LANE_EXPIRES_MS = 10 * 60_000;

/** One channel of a listener: its own prefetch window over some of the server's queues. */
interface ConsumerWindow {
  readonly channel: Channel;
  readonly consumerTags: string[];
}

export class AmqpListener implements Listener {
  private readonly inFlight = new InFlight();
  private readonly fanoutQueue: string;
  private readonly log: Logger;
  private windows: ConsumerWindow[] = [];
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
    const windows = this.windows;
    this.windows = [];
    for (const { channel, consumerTags } of windows) {
      for (const tag of consumerTags) await channel.cancel(tag).catch(() => undefined);
    }
    await this.inFlight.drain();
    for (const { channel } of windows) await channel.close().catch(() => undefined);
  }

  private readonly consume = async (session: AmqpSession): Promise<void> => {
    const { target } = this;
    const channels: Channel[] = [];
    const open = async (prefetch: number): Promise<Channel> => {
      const ch = await session.model.createChannel();
      channels.push(ch);
      ch.on('error', (err: Error) => this.log.warn({ err: err.message }, 'message broker closed an RPC server channel'));
      ch.on('close', () => {
        if (!this.stopped && this.windows.some((w) => w.channel === ch) && session.alive) {
          this.conn.recycle(session, `consumer channel of ${target.topic}.${target.server} closed`);
        }
      });
      await ch.prefetch(prefetch);
      return ch;
    };
    try {
      // Casts and calls on separate channels, each with its own prefetch: casts can never take the calls' window.
      const casts = await open(this.opts.concurrency);
      const plan = [{ channel: casts, queues: await this.declareCastQueues(casts) }];
      if (this.opts.callConcurrency !== undefined) {
        const calls = await open(this.opts.callConcurrency);
        plan.push({ channel: calls, queues: await this.declareCallLanes(calls) });
      }
      const windows: ConsumerWindow[] = [];
      for (const { channel, queues } of plan) {
        const consumerTags: string[] = [];
        for (const queue of queues) {
          if (this.stopped) break;
          consumerTags.push((await channel.consume(queue, (m) => this.onDelivery(session, channel, m))).consumerTag);
        }
        windows.push({ channel, consumerTags });
      }
      if (this.stopped) {
        for (const ch of channels) await ch.close().catch(() => undefined);
        return;
      }
      // Only now are these the live channels whose unexpected close means "start over".
      this.windows = windows;
      this.log.debug({ queues: plan.flatMap((p) => p.queues) }, 'consuming RPC queues');
    } catch (err) {
      // Leave nothing half set up behind: a consumer on some of the queues would take messages nobody handles right.
      for (const ch of channels) await ch.close().catch(() => undefined);
      throw err;
    }
  };

  /** Declares and binds shared queue `T`, own queue `T.H` and this server's fanout queue; returns their names. */
  private async declareCastQueues(ch: Channel): Promise<string[]> {
    const { names, target } = this;
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
    return [shared, own, this.fanoutQueue];
  }

  /** Declares and binds the topic's call lane `T:call` and this server's `T:call.H`; returns their names. */
  private async declareCallLanes(ch: Channel): Promise<string[]> {
    const { names, target } = this;
    const lanes: string[] = [];
    for (const t of [{ topic: target.topic }, target]) {
      const lane = names.callQueueFor(t);
      await ch.assertQueue(lane, { durable: true, arguments: { 'x-expires': CALL_LANE_EXPIRES_MS } });
      await ch.bindQueue(lane, names.callExchange, names.routingKey(t));
      lanes.push(lane);
    }
    return lanes;
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
