// The contract between RPC clients/servers and a message bus; AMQP and in-process implement it.
import type { Envelope, Reply } from './envelope';
import type { ServerTarget, Target } from './target';
import type { BusTap, TapHandler, TapOptions } from './tap/tapped-message';

/** A message delivered to a server. */
export interface IncomingMessage {
  /** The decoded message body, not yet validated as an envelope. */
  readonly body: unknown;
  /** True when the bus delivered this message before (a previous consumer did not acknowledge it). */
  readonly redelivered: boolean;
  /** Sends the reply of a call; absent for casts. Throws when reply cannot be encoded. */
  readonly reply?: (reply: Reply) => void;
}

/** Handles one message; the transport acknowledges it when the returned promise settles. */
export type MessageHandler = (message: IncomingMessage) => Promise<void>;

export interface ListenOptions {
  /** How many casts (and calls sent to the cast queues) may be handled at once (the AMQP prefetch). */
  readonly concurrency: number;
  /**
   * How many calls may be handled at once on the server's call lane, a window of their own that casts never take, so a
   * cast handler waiting on a call to a peer can never leave that peer's calls unanswered. Without it the server
   * consumes no call lane, as releases before it did: callers then fall back to the cast queues.
   */
  readonly callConcurrency?: number;
}

export interface Listener {
  /** Stops consuming, then waits for the messages being handled. */
  stop(): Promise<void>;
}

export type TransportState = 'connected' | 'disconnected';

/** oslo's notification priorities that Ferry emits: INFO for .start/.end, ERROR for .error. */
export type NotificationPriority = 'INFO' | 'ERROR';

/** A versioned object as Nova serialises it (oslo.versionedobjects' primitive form). */
export interface NovaObject {
  readonly 'nova_object.name': string;
  readonly 'nova_object.namespace': string;
  readonly 'nova_object.version': string;
  readonly 'nova_object.data': Record<string, unknown>;
}

/** One versioned notification, shaped as oslo.messaging's notifier sends it with Nova's payload. */
export interface NotificationMessage {
  readonly message_id: string;
  /** `<service>:<host>`, e.g. ferry-compute:compute-1. */
  readonly publisher_id: string;
  /** e.g. instance.resize.start. */
  readonly event_type: string;
  readonly priority: NotificationPriority;
  /** ISO 8601, UTC. */
  readonly timestamp: string;
  readonly payload: NovaObject;
}

/** Receives one notification; a throw or rejection is logged and the next notification still arrives. */
export type NotificationHandler = (message: NotificationMessage) => Promise<void> | void;

/** How long notify waits for a connection and the broker's confirm: a notification must not hold up the work it reports. */
export const NOTIFY_TIMEOUT_MS = 2_000;

export interface Transport {
  /** False while the transport is reconnecting, and after close(). */
  readonly connected: boolean;
  /**
   * Publishes a call and resolves with the reply body; may add `_msg_id` and `_reply_q` to envelope. The call goes to
   * the target's call lane, or to its cast queue when no server there consumes a call lane (an older release).
   * Rejects with MessagingTimeout when no reply arrives within timeoutMs, with MessagingUnavailable
   * when the bus is unreachable for that long or the connection is lost while waiting, and with
   * MessageUndeliverable when no queue takes the call (nothing ever listened on its topic or server).
   */
  call(target: Target, envelope: Envelope, timeoutMs: number): Promise<unknown>;
  /**
   * Publishes a cast; resolves when the bus has accepted it. Waits up to timeoutMs for a connection. A direct cast no
   * queue takes rejects with MessageUndeliverable; a fanout cast resolves even when no server of the topic runs.
   */
  cast(target: Target, envelope: Envelope, timeoutMs: number): Promise<void>;
  /**
   * Consumes topic's shared queue, the server's own queue and the topic's fanout, and (with callConcurrency) the
   * topic's and the server's call lanes, again after every reconnection. While disconnected it resolves at once and
   * consuming starts on connecting.
   */
  listen(target: ServerTarget, handler: MessageHandler, opts: ListenOptions): Promise<Listener>;
  /**
   * Publishes a notification; resolves when the bus has accepted it. Rejects with MessagingUnavailable when
   * there is no connection within NOTIFY_TIMEOUT_MS or the broker does not confirm it by then.
   */
  notify(message: NotificationMessage): Promise<void>;
  /**
   * Taps every notification published from now on, whatever its publisher, event type or priority, again after
   * every reconnection (what is published while disconnected is missed). Handled one at a time, in order.
   */
  listenNotifications(handler: NotificationHandler): Promise<Listener>;
  /**
   * Taps every call, cast, reply and notification from now on, whoever sends it, without changing where any message
   * goes (`ferry bus tail`), again after every reconnection.
   */
  tap(handler: TapHandler, opts: TapOptions): Promise<BusTap>;
  /** Calls listener on every connection change; returns the unsubscribe function. */
  onStateChange(listener: (state: TransportState) => void): () => void;
  /** Stops reconnecting, fails waiting calls and closes the connection. */
  close(): Promise<void>;
}

/** handler's promise for message, a synchronous throw turned into a rejection so every message gets finished. */
export function started(handler: MessageHandler, message: IncomingMessage): Promise<void> {
  try {
    return handler(message);
  } catch (err) {
    return Promise.reject(err);
  }
}
