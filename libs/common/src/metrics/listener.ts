// The metrics listener: GET /metrics and nothing else, on its own address and port, for Prometheus to scrape without
// a token. It is off unless FERRY_METRICS_PORT is set, and binds to FERRY_METRICS_LISTEN (loopback by default).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log';
import { METRICS_CONTENT_TYPE } from './registry';

export const METRICS_PATH = '/metrics';

export interface MetricsListenerOptions {
  listen: string;
  /** 0 picks a free port. */
  port: number;
  /** The text the listener answers: the process registry, plus the database's figures in a process running the API. */
  scrape: () => Promise<string>;
  log: Logger;
}

export interface MetricsListener {
  /** e.g. http://127.0.0.1:9464/metrics */
  readonly url: string;
  stop(): Promise<void>;
}

export async function startMetricsListener(opts: MetricsListenerOptions): Promise<MetricsListener> {
  const server = createServer((req, res) => void answer(req, res, opts));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.listen, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.listen.includes(':') ? `[${opts.listen}]` : opts.listen;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}${METRICS_PATH}`;
  opts.log.info({ url }, 'metrics listening');
  return {
    url,
    stop: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

async function answer(req: IncomingMessage, res: ServerResponse, opts: MetricsListenerOptions): Promise<void> {
  const path = (req.url ?? '').split('?')[0];
  if (path !== METRICS_PATH) return send(res, 404, `only ${METRICS_PATH} is served here\n`);
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, `${METRICS_PATH} answers GET only\n`, { allow: 'GET, HEAD' });
  try {
    send(res, 200, await opts.scrape(), { 'content-type': METRICS_CONTENT_TYPE });
  } catch (err) {
    opts.log.error({ err: (err as Error).message }, 'metrics scrape failed');
    send(res, 503, 'metrics unavailable: the scrape failed (see the log)\n');
  }
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
