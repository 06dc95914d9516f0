// A notification tap: an exclusive server-named queue bound to the notifications exchange with '#', re-made on every session.
import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../../log';
import type { TopologyNames } from '../names';
import type { Listener, NotificationHandler, NotificationMessage } from '../transport';
import type { AmqpConnection, AmqpSession } from './connection';
import { decodeNotification } from './oslo-notification';

/** Notifications fetched ahead of the one being handled: enough to keep the tap busy, few enough to bound memory. */
const PREFETCH = 64;

export class AmqpNotificationListener implements Listener {
  private readonly log: Logger;
  private channel?: Channel;
  private consumerTag?: string;
  /** Handlers run one after another, so a tap sees .start before .end. */
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly conn: AmqpConnection,
    private readonly names: TopologyNames,
    private readonly handler: NotificationHandler,
    log: Logger,
  ) {
    this.log = log.child({ exchange: names.notificationsExchange });
  }

  async start(): Promise<void> {
    await this.conn.addHook(this.consume);
  }

  async stop(): Promise<void> {
    if (this.stopped) return this.chain;
    this.stopped = true;
    this.conn.removeHook(this.consume);
    const ch = this.channel;
    const tag = this.consumerTag;
    this.channel = undefined;
    // Cancelling the only consumer deletes the auto-delete queue; the connection's end would too.
    if (ch && tag !== undefined) await ch.cancel(tag).catch(() => undefined);
    await this.chain;
    if (ch) await ch.close().catch(() => undefined);
  }

  private readonly consume = async (session: AmqpSession): Promise<void> => {
    const ch = await session.model.createChannel();
    ch.on('error', (err: Error) => this.log.warn({ err: err.message }, 'message broker closed a notification listener channel'));
    ch.on('close', () => {
      if (!this.stopped && this.channel === ch && session.alive) this.conn.recycle(session, 'notification listener channel closed');
    });
    try {
      await ch.prefetch(PREFETCH);
      // Server-named and exclusive: every tap gets its own copy and nothing outlives the connection.
      const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
      await ch.bindQueue(queue, this.names.notificationsExchange, '#');
      if (this.stopped) {
        await ch.close().catch(() => undefined);
        return;
      }
      const { consumerTag } = await ch.consume(queue, (m) => this.onDelivery(session, ch, m));
      this.channel = ch;
      this.consumerTag = consumerTag;
      this.log.debug({ queue }, 'tapping notifications');
    } catch (err) {
      if (this.channel === ch) this.channel = undefined;
      await ch.close().catch(() => undefined);
      throw err;
    }
  };

  private onDelivery(session: AmqpSession, ch: Channel, m: ConsumeMessage | null): void {
    if (m === null) {
      // The broker cancelled the consumer (its queue was deleted): start over on a fresh session.
      if (!this.stopped) this.conn.recycle(session, 'broker cancelled the notification listener');
      return;
    }
    let message: NotificationMessage;
    try {
      message = decodeNotification(m.content);
    } catch (err) {
      this.log.warn({ routing_key: m.fields.routingKey, err: err instanceof Error ? err.message : String(err) }, 'dropping a malformed notification');
      safely(() => ch.ack(m));
      return;
    }
    this.chain = this.chain.then(() => this.handle(message)).finally(() => safely(() => ch.ack(m)));
  }

  private async handle(message: NotificationMessage): Promise<void> {
    if (this.stopped) return;
    try {
      await this.handler(message);
    } catch (err) {
      this.log.error({ err, event_type: message.event_type }, 'notification handler crashed');
    }
  }
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // The channel died with its session; its unacknowledged messages died with the exclusive queue.
  }
}
