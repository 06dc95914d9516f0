// Notifier: emits versioned notifications for one publisher, and never lets a failure to notify reach the caller.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../log';
import type { NotificationPriority, NovaObject, Transport } from '../rpc/transport';

/** A payload, or how to build it: a builder that throws is a failed notification, not a failed action. */
export type PayloadSource = NovaObject | (() => NovaObject);

export class Notifier {
  constructor(
    private readonly transport: Pick<Transport, 'notify'>,
    /** `<service>:<host>`, e.g. ferry-compute:compute-1, as Nova's `nova-compute:<host>`. */
    readonly publisherId: string,
    private readonly log: Logger,
  ) {}

  /** Emits eventType at INFO; resolves once sent or given up on, never rejects. */
  info(eventType: string, payload: PayloadSource): Promise<void> {
    return this.emit('INFO', eventType, payload);
  }

  /** Emits eventType at ERROR; resolves once sent or given up on, never rejects. */
  error(eventType: string, payload: PayloadSource): Promise<void> {
    return this.emit('ERROR', eventType, payload);
  }

  private async emit(priority: NotificationPriority, eventType: string, source: PayloadSource): Promise<void> {
    try {
      const payload = typeof source === 'function' ? source() : source;
      await this.transport.notify({
        message_id: randomUUID(),
        publisher_id: this.publisherId,
        event_type: eventType,
        priority,
        timestamp: new Date().toISOString(),
        payload,
      });
    } catch (err) {
      // Only the message: the payload may carry what a log should not, and the error text names the broker without credentials.
      this.log.warn({ event_type: eventType, priority, err: err instanceof Error ? err.message : String(err) }, 'notification not sent');
    }
  }
}
