// Raw amqplib baselines on one broker: request/reply as rpc.bench.ts measures it, and a persistent, confirmed
// publish into a durable queue (what a Ferry cast waits for), with no Ferry code in between.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { connect, type ChannelModel } from 'amqplib';

export interface RawRpc {
  /** One request/reply round trip: publish to the request queue, the server replies on the reply queue. */
  call(): Promise<void>;
  /** One persistent publish on a confirm channel into a durable queue; resolves when confirmed and consumed. */
  cast(): Promise<void>;
  close(): Promise<void>;
}

/** Client and server on separate connections (as two services), default exchange, correlation ids. */
export async function startRawRpc(url: string, prefix: string): Promise<RawRpc> {
  const serverConn = await connect(url, { noDelay: true });
  const clientConn = await connect(url, { noDelay: true });
  const serverCh = await serverConn.createChannel();
  const clientCh = await clientConn.createChannel();
  const confirmCh = await clientConn.createConfirmChannel();
  const requests = `${prefix}raw_requests`;
  const casts = `${prefix}raw_casts`;
  await serverCh.assertQueue(requests, { durable: false, autoDelete: true });
  await serverCh.assertQueue(casts, { durable: true });
  await serverCh.prefetch(64);
  await serverCh.consume(requests, (m) => {
    if (!m) return;
    serverCh.publish('', m.properties.replyTo as string, m.content, { correlationId: m.properties.correlationId as string });
    serverCh.ack(m);
  });
  const consumed = new Map<string, () => void>();
  await serverCh.consume(casts, (m) => {
    if (!m) return;
    serverCh.ack(m);
    const id = m.properties.messageId as string;
    consumed.get(id)?.();
    consumed.delete(id);
  });
  const { queue: replyQueue } = await clientCh.assertQueue('', { exclusive: true, autoDelete: true });
  const pending = new Map<string, () => void>();
  await clientCh.consume(replyQueue, (m) => {
    if (!m) return;
    const id = m.properties.correlationId as string;
    pending.get(id)?.();
    pending.delete(id);
  }, { noAck: true });
  const body = Buffer.from(JSON.stringify({ method: 'ping', args: { n: 1 } }));
  return {
    call: () => new Promise<void>((resolve) => {
      const correlationId = randomUUID();
      pending.set(correlationId, resolve);
      clientCh.publish('', requests, body, { correlationId, replyTo: replyQueue });
    }),
    cast: () => {
      const messageId = randomUUID();
      const delivered = new Promise<void>((resolve) => consumed.set(messageId, resolve));
      const confirmed = new Promise<void>((resolve, reject) => {
        confirmCh.publish('', casts, body, { messageId, persistent: true, contentType: 'application/json' }, (err: unknown) => {
          if (err) reject(err instanceof Error ? err : new Error(String(err)));
          else resolve();
        });
      });
      return Promise.all([confirmed, delivered]).then(() => undefined);
    },
    async close() {
      await serverCh.deleteQueue(casts).catch(() => undefined);
      await serverCh.deleteQueue(requests).catch(() => undefined);
      await Promise.all([clientConn, serverConn].map((c: ChannelModel) => c.close()));
    },
  };
}

/** Latency in ms of `count` operations, one after another. */
export async function sequential(count: number, op: () => Promise<void>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await op();
    samples.push(performance.now() - started);
  }
  return samples;
}

/** Operations per second with `window` in flight at once, over about durationMs. */
export async function pipelined(window: number, durationMs: number, op: () => Promise<void>): Promise<number> {
  let done = 0;
  const started = performance.now();
  const until = started + durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < until) {
      await op();
      done++;
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
  return done / ((performance.now() - started) / 1000);
}
