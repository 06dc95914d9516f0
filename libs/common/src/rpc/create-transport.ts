// Picks the transport for a URL: inproc:// (or none) → in-process bus, amqp:// or amqps:// → RabbitMQ.
import { silentLogger, type Logger } from '../log';
import { AmqpConnection } from './amqp/connection';
import { checkBackoff, DEFAULT_BACKOFF, type BackoffOptions } from './amqp/backoff';
import { AmqpTransport } from './amqp/transport';
import { isAmqpUrl, redactUrl } from './amqp/url';
import { InprocTransport } from './inproc/transport';
import { topologyNames } from './names';
import type { Transport } from './transport';

export interface TransportOptions {
  /** inproc://NAME (default inproc://default) or amqp://user:pass@host:port/vhost. */
  readonly url?: string;
  /** Namespaces every exchange and queue name; default ''. */
  readonly prefix?: string;
  readonly log?: Logger;
  /** AMQP: reconnect delays; default 200 ms doubling to 10 s, ±20 % jitter. */
  readonly reconnect?: Partial<BackoffOptions>;
  /** AMQP: how long the first connection may take, retries included; default 20000. */
  readonly connectTimeoutMs?: number;
  /** What this process calls itself on the bus, `<service>:<host>` (e.g. ferry-compute:compute-1), for bus taps. */
  readonly sender?: string;
}

export const DEFAULT_INPROC_URL = 'inproc://default';
export const DEFAULT_CONNECT_TIMEOUT_MS = 20_000;

const PREFIX = /^[A-Za-z0-9_.-]*$/;

export async function createTransport(opts: TransportOptions = {}): Promise<Transport> {
  const url = opts.url === undefined || opts.url === 'inproc://' ? DEFAULT_INPROC_URL : opts.url;
  const prefix = opts.prefix ?? '';
  if (!PREFIX.test(prefix)) throw new TypeError(`transport prefix may hold only letters, digits, '_', '.' and '-', got ${JSON.stringify(prefix)}`);
  const log = (opts.log ?? silentLogger()).child({ component: 'rpc' });
  const names = topologyNames(prefix);
  if (url.startsWith('inproc://')) return new InprocTransport(url, prefix, log, opts.sender);
  if (!isAmqpUrl(url)) throw new TypeError(`unsupported transport URL ${redactUrl(url)}: expected inproc:// or amqp://`);
  const conn = new AmqpConnection(url, checkBackoff({ ...DEFAULT_BACKOFF, ...opts.reconnect }), log);
  const transport = new AmqpTransport(conn, names, log, opts.sender);
  // The first hook, so every later session declares exchanges and the reply queue before servers bind to them.
  await conn.addHook(transport.setUpSession);
  await conn.open(opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
  return transport;
}
