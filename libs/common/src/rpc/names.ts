// The names of exchanges and queues a transport uses, all under one prefix so test runs and deployments can share a broker.
import type { ServerTarget, Target } from './target';

export interface TopologyNames {
  /** Topic exchange every call and direct cast is published to. */
  readonly exchange: string;
  /** Direct exchange replies are published to, keyed by reply queue name. */
  readonly replyExchange: string;
  /** Queue shared by every server of topic (round-robin). */
  sharedQueue(topic: string): string;
  /** Queue of one server of topic. */
  serverQueue(target: ServerTarget): string;
  /** Fanout exchange reaching every server of topic. */
  fanoutExchange(topic: string): string;
  /** Routing key on `exchange` for a call or direct cast: `T` or `T.H`. */
  routingKey(target: Target): string;
  /** The queue a call or direct cast to target lands in (a call only when target's server consumes no call lane). */
  queueFor(target: Target): string;
  /** Direct exchange calls are published to first, under the same routing key as on `exchange`. */
  readonly callExchange: string;
  /**
   * The call lane of target on `callExchange`: `T:call` (any server of T) or `T:call.H`. A topic holds no `:`, so no
   * name of a cast queue (`T`, `T.H`) can be one of these, whatever the server is called.
   */
  callQueueFor(target: Target): string;
  /** Topic exchange versioned notifications are published to. */
  readonly notificationsExchange: string;
  /** Routing key of a notification on `notificationsExchange`: `versioned_notifications.<priority>`. */
  notificationRoutingKey(priority: string): string;
}

/** oslo.messaging's topic for versioned notifications; the priority, lowercased, follows it in the routing key. */
export const NOTIFICATION_TOPIC = 'versioned_notifications';

export function topologyNames(prefix = ''): TopologyNames {
  const routingKey = (t: Target): string => (t.server !== undefined ? `${t.topic}.${t.server}` : t.topic);
  return {
    exchange: `${prefix}ferry`,
    replyExchange: `${prefix}ferry_reply`,
    sharedQueue: (topic) => `${prefix}${topic}`,
    serverQueue: (t) => `${prefix}${t.topic}.${t.server}`,
    fanoutExchange: (topic) => `${prefix}${topic}_fanout`,
    routingKey,
    // Queues are bound under their own unprefixed name, so the queue is the prefixed routing key.
    queueFor: (t) => `${prefix}${routingKey(t)}`,
    callExchange: `${prefix}ferry_call`,
    callQueueFor: (t) => `${prefix}${t.topic}:call${t.server !== undefined ? `.${t.server}` : ''}`,
    notificationsExchange: `${prefix}ferry_notifications`,
    // Unprefixed, like RPC routing keys: the prefixed exchange already keeps deployments apart.
    notificationRoutingKey: (priority) => `${NOTIFICATION_TOPIC}.${priority.toLowerCase()}`,
  };
}
