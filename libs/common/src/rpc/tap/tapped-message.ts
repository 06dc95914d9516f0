// What a bus tap hands on: every message as it crossed the bus, before anything interprets it.
import type { Listener } from '../transport';

/** Where a tapped message travelled: an RPC routing key, a topic's fanout, a reply address, or the notifications exchange. */
export type TappedRoute = 'rpc' | 'fanout' | 'reply' | 'notification';

export interface TappedMessage {
  /** Epoch ms (fractional) at which the tap saw the message. */
  readonly at: number;
  readonly route: TappedRoute;
  /** rpc: `T` or `T.H`; fanout: the topic; reply: the caller's reply address; notification: its routing key. */
  readonly address: string;
  /** The body as it travelled (JSON text). */
  readonly body: string;
  /** Calls and replies: the call's message id (AMQP correlationId). */
  readonly msgId?: string;
  /** What the sending process calls itself (`ferry-compute:compute-1`), when it says (AMQP appId). */
  readonly sender?: string;
}

/** Receives every tapped message in the order the tap saw them; must not throw and should return quickly. */
export type TapHandler = (message: TappedMessage) => void;

export interface TapOptions {
  /** The topics to watch: their shared queues, their servers' queues and their fanouts. */
  readonly topics: readonly string[];
  /** Servers known to exist (e.g. from the services table); a tap learns more from the senders it sees. */
  readonly hosts: readonly string[];
  /** Messages the bus may keep for a tap that lags before it drops the oldest (and counts them); a default otherwise. */
  readonly maxBacklog?: number;
}

/** How far the tap is behind the bus. */
export interface TapStats {
  /** Messages the bus holds for the tap that it has not handed on yet. */
  readonly waiting: number;
  /** Messages the bus dropped from the tap since it started, its backlog being full. */
  readonly dropped: number;
}

export interface BusTap extends Listener {
  stats(): Promise<TapStats>;
}

/** Now as fractional epoch ms, for latencies below a millisecond. */
export function tapClock(): number {
  return performance.timeOrigin + performance.now();
}
