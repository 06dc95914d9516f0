// AMQP test helpers: the broker URL, random name prefixes, topology cleanup, and a TCP proxy for cutting connections.
import { randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import net from 'node:net';
import { topologyNames } from '@ferry/common/rpc';
import { connect, type Channel, type ChannelModel } from 'amqplib';

export const DEFAULT_TEST_TRANSPORT_URL = 'amqp://guest:guest@127.0.0.1:5672';

export function testTransportUrl(): string {
  return process.env.FERRY_TEST_TRANSPORT_URL ?? DEFAULT_TEST_TRANSPORT_URL;
}

/** A fresh `test_<hex>_` prefix, so a test's exchanges and queues collide with nobody's. */
export function randomPrefix(): string {
  return `test_${randomBytes(6).toString('hex')}_`;
}

/** What a test declared under its prefix: topics, and the servers each consumed as. */
export interface RpcTopology {
  readonly prefix: string;
  readonly topics: Iterable<string>;
  readonly servers: Iterable<string>;
}

/**
 * Deletes the durable exchanges and queues RPC transports declare under prefix, call lanes and the notifications
 * exchange included. Reply, fanout and notification tap queues are auto-delete and go with their connections; deleting
 * the named ones here too covers a transport that was never closed.
 */
export async function deleteRpcTopology(url: string, topology: RpcTopology): Promise<void> {
  const { prefix } = topology;
  const topics = [...topology.topics];
  const servers = [...topology.servers];
  const names = topologyNames(prefix);
  const targets = topics.flatMap((topic) => [{ topic }, ...servers.map((server) => ({ topic, server }))]);
  // Cast queues and call lanes.
  const queues = targets.flatMap((t) => [names.queueFor(t), names.callQueueFor(t)]);
  const exchanges = [names.exchange, names.callExchange, names.replyExchange, names.notificationsExchange, ...topics.map((t) => names.fanoutExchange(t))];
  await withChannel(url, async (use) => {
    for (const q of queues) await use((ch) => ch.deleteQueue(q));
    for (const x of exchanges) await use((ch) => ch.deleteExchange(x));
  });
}

/** Whether a queue exists on the broker (a passive declare, on a throwaway channel). */
export async function queueExists(url: string, queue: string): Promise<boolean> {
  let exists = false;
  await withChannel(url, async (use) => {
    exists = (await use(async (ch) => (await ch.checkQueue(queue)).queue === queue)) === true;
  });
  return exists;
}

/** Whether an exchange exists on the broker (a passive declare, on a throwaway channel). */
export async function exchangeExists(url: string, exchange: string): Promise<boolean> {
  let exists = false;
  await withChannel(url, async (use) => {
    exists = (await use(async (ch) => (await ch.checkExchange(exchange), true))) === true;
  });
  return exists;
}

/** Deletes an exchange, if it exists: what an operator or a broker losing its definitions would do. */
export async function deleteExchange(url: string, exchange: string): Promise<void> {
  await withChannel(url, async (use) => {
    await use((ch) => ch.deleteExchange(exchange));
  });
}

type UseChannel = <T>(op: (ch: Channel) => Promise<T>) => Promise<T | undefined>;

/** Runs body with a helper that survives channel errors (a 404 closes the channel; the next op gets a new one). */
async function withChannel(url: string, body: (use: UseChannel) => Promise<void>): Promise<void> {
  const model: ChannelModel = await connect(url);
  model.on('error', () => undefined);
  let ch: Channel | undefined;
  const use: UseChannel = async (op) => {
    if (!ch) {
      ch = await model.createChannel();
      ch.on('error', () => undefined);
    }
    try {
      return await op(ch);
    } catch {
      ch = undefined;
      return undefined;
    }
  };
  try {
    await body(use);
  } finally {
    await model.close().catch(() => undefined);
  }
}

/** A loopback TCP proxy in front of the broker that a test can cut, or make refuse connections. */
export class TcpProxy {
  private readonly sockets = new Set<net.Socket>();
  /** Each live connection's broker side and client side. */
  private readonly links = new Map<net.Socket, net.Socket>();
  private readonly events = new EventEmitter();
  private refusing = false;
  /** Connections accepted and forwarded so far. */
  accepted = 0;
  /** Connections cut on arrival while refusing. */
  refused = 0;

  private constructor(
    private readonly server: net.Server,
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    server.on('connection', (client) => this.forward(client));
  }

  /** Starts a proxy on 127.0.0.1 (random port) in front of the broker of brokerUrl. */
  static async start(brokerUrl: string): Promise<TcpProxy> {
    const u = new URL(brokerUrl);
    const server = net.createServer();
    const proxy = new TcpProxy(server, u.hostname, Number(u.port || 5672));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return proxy;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** brokerUrl (credentials, vhost, query) pointed at the proxy. */
  urlFor(brokerUrl: string): string {
    const u = new URL(brokerUrl);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  get openConnections(): number {
    return this.sockets.size / 2;
  }

  /** Cuts every proxied connection at once, as a network failure or broker crash would. */
  dropAll(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /**
   * Holds what the broker sends (replies, confirms, deliveries) on every proxied connection until releaseFromBroker(),
   * as a broker that has stopped answering; what clients send still reaches it.
   */
  holdFromBroker(): void {
    for (const [upstream, client] of this.links) {
      upstream.unpipe(client);
      upstream.pause();
    }
  }

  releaseFromBroker(): void {
    for (const [upstream, client] of this.links) upstream.pipe(client);
  }

  /** New connections are cut right after they are accepted, like a broker that is down. */
  refuse(): void {
    this.refusing = true;
  }

  accept(): void {
    this.refusing = false;
  }

  /** Resolves once at least count connections have been refused in all. */
  async waitForRefused(count: number): Promise<void> {
    while (this.refused < count) await once(this.events, 'refused');
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private forward(client: net.Socket): void {
    if (this.refusing) {
      this.refused++;
      client.destroy();
      this.events.emit('refused');
      return;
    }
    this.accepted++;
    const upstream = net.connect(this.targetPort, this.targetHost);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.sockets.add(a);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        this.sockets.delete(a);
        b.destroy();
      });
    }
    this.links.set(upstream, client);
    upstream.on('close', () => this.links.delete(upstream));
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
