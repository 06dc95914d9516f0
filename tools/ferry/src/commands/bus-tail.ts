// `ferry bus tail`: every call, cast, reply and notification on the bus, as it happens. With a RabbitMQ transport URL
// it taps the broker itself (libs/common/src/rpc/amqp/tap.ts); otherwise (the all-in-one's in-process bus), or with
// --api, it reads the API's admin stream GET /os-ferry-bus. Lines on a terminal, JSON lines otherwise or with --json.
import type { FerryConfig } from '@ferry/common/config';
import { openDatabase } from '@ferry/common/db';
import { silentLogger } from '@ferry/common/log';
import { checkTailFilter, createTransport, redactUrl, startBusTail, type BusEvent, type BusTailFilter, type TailNotice } from '@ferry/common/rpc';
import { BUS_STREAM_TYPE, ferryTapOptions } from '@ferry/api';
import { adminSession, failure } from '../api/admin-session';
import { formatEvent, formatNotice, LineWriter } from './bus-tail-view';
import { UsageError } from './service';

export interface BusTailOptions {
  topic?: string;
  method?: string;
  instance?: string;
  host?: string;
  requestId?: string;
  json?: boolean;
  /** Read the API's stream even when a transport URL is configured. */
  api?: boolean;
  /** Broker only: messages RabbitMQ keeps for the tail while it lags, before it drops the oldest. */
  backlog?: number;
}

interface Output {
  event(e: BusEvent): void;
  notice(n: TailNotice): void;
  said(text: string): void;
}

function output(json: boolean): Output {
  const lines = new LineWriter(process.stdout);
  const colour = !json && process.stdout.isTTY === true && !process.env.NO_COLOR;
  return {
    event: json ? (e) => lines.line(JSON.stringify(e)) : (e) => lines.line(formatEvent(e, colour)),
    notice: (n) => process.stderr.write(`${formatNotice(n)}\n`),
    said: (text) => process.stderr.write(`ferry bus tail: ${text}\n`),
  };
}

function filterOf(o: BusTailOptions): BusTailFilter {
  try {
    return checkTailFilter({ topic: o.topic, method: o.method, instance: o.instance, host: o.host, request_id: o.requestId });
  } catch (err) {
    throw new UsageError(`--${(err as Error).message.replace(/^request_id/, 'request-id')}`);
  }
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

/** Tails until interrupted (exit 0), or until the API ends its stream (exit 1). */
export async function busTail(config: Readonly<FerryConfig>, o: BusTailOptions): Promise<number> {
  const filter = filterOf(o);
  const out = output(o.json === true || !process.stdout.isTTY);
  const broker = config.transportUrl && !config.transportUrl.startsWith('inproc:') ? config.transportUrl : undefined;
  if (broker && !o.api) {
    await tailBroker(config, broker, filter, out, o.backlog);
    return 0;
  }
  return tailApi(config, filter, out);
}

async function tailBroker(config: Readonly<FerryConfig>, url: string, filter: BusTailFilter, out: Output, maxBacklog?: number): Promise<void> {
  const transport = await createTransport({ url, prefix: config.busPrefix, log: silentLogger() });
  try {
    const tap = { ...(await knownTopology(config)), ...(maxBacklog !== undefined ? { maxBacklog } : {}) };
    const tail = await startBusTail(transport, { filter, tap, onEvent: out.event, onNotice: out.notice });
    out.said(`tapping ${redactUrl(url)}${config.busPrefix ? ` (prefix ${config.busPrefix})` : ''}; Ctrl-C to stop`);
    await untilInterrupted();
    await tail.stop();
  } finally {
    await transport.close();
  }
}

/** Ferry's topics, and the hosts the services table names when a database is configured. */
async function knownTopology(config: Readonly<FerryConfig>) {
  if (!config.databaseUrl) return ferryTapOptions();
  const db = await openDatabase({ url: config.databaseUrl, stateDir: config.stateDir, log: silentLogger(), poolSize: 1 });
  try {
    return await ferryTapOptions(db.dataSource);
  } finally {
    await db.close();
  }
}

async function tailApi(config: Readonly<FerryConfig>, filter: BusTailFilter, out: Output): Promise<number> {
  const api = await adminSession(config);
  const params = new URLSearchParams(Object.entries(filter) as [string, string][]);
  const aborted = new AbortController();
  const res = await api.stream(`/os-ferry-bus${params.size ? `?${params}` : ''}`, aborted.signal);
  if (res.status !== 200 || !res.body) throw await failure('GET /os-ferry-bus', res);
  if (!res.headers.get('content-type')?.startsWith(BUS_STREAM_TYPE)) throw new UsageError(`GET /os-ferry-bus answered ${res.headers.get('content-type')}, not a stream of bus events`);
  out.said(`tapping the bus through the API at ${api.computeUrl}; Ctrl-C to stop`);
  let interrupted = false;
  void untilInterrupted().then(() => {
    interrupted = true;
    aborted.abort();
  });
  try {
    await readLines(res.body, (line) => {
      const record = JSON.parse(line) as BusEvent | { notice: TailNotice };
      if ('notice' in record) out.notice(record.notice);
      else out.event(record);
    });
  } catch (err) {
    if (!interrupted) throw err;
  }
  if (interrupted) return 0;
  out.said('the API ended the stream');
  return 1;
}

/** Calls onLine with each non-blank line of body as it arrives. */
async function readLines(body: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let rest = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    rest += decoder.decode(chunk, { stream: true });
    const lines = rest.split('\n');
    rest = lines.pop()!;
    for (const line of lines) if (line.trim() !== '') onLine(line);
  }
}
