// RPC benchmark over RabbitMQ: Ferry call round-trip and cast throughput, against a raw amqplib request/reply baseline.
// Run after a build: node test/dist/bench/rpc.bench.js (FERRY_TEST_TRANSPORT_URL picks the broker).
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { connect, type ChannelModel } from 'amqplib';
import {
  RpcClient, RpcServer, argsSchema, createTransport, defineContract, newRequestContext, redactUrl, served, type RequestContext, type Transport,
} from '@ferry/common/rpc';
import { Type } from '@sinclair/typebox';
import { deleteRpcTopology } from '../support/amqp';

const BROKER_URL = process.env.FERRY_TEST_TRANSPORT_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const WARMUP_CALLS = 2000;
const CALLS_PER_ROUND = 500;
const ROUNDS = 4;
const CASTS = 10_000;
/** Casts awaiting their confirm at once. */
const CAST_WINDOW = 256;
const TARGET_RATIO = 1.3;
const TOPIC = 'bench';
const HOST = 'h1';

interface Stats {
  n: number;
  p50: number;
  p99: number;
  mean: number;
}

function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { n: sorted.length, p50: at(0.5), p99: at(0.99), mean: sorted.reduce((a, b) => a + b, 0) / sorted.length };
}

async function timeSequential(calls: number, once: (i: number) => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    await once(i);
    samples.push(performance.now() - started);
  }
  return samples;
}

class BenchEndpoint {
  readonly target = { version: '1.0' };
  casts = 0;
  private castsExpected = Infinity;
  private allCast: () => void = () => undefined;

  async ping(_ctx: RequestContext, args: { n: number }): Promise<{ n: number }> {
    return { n: args.n };
  }

  async tick(_ctx: RequestContext, _args: { n: number }): Promise<void> {
    if (++this.casts === this.castsExpected) this.allCast();
  }

  /** Resolves once `count` more casts have been handled. */
  expectCasts(count: number): Promise<void> {
    return new Promise((resolve) => {
      this.castsExpected = this.casts + count;
      this.allCast = resolve;
    });
  }
}

const BENCH_CONTRACT = defineContract<BenchEndpoint>()({
  ping: argsSchema({ n: Type.Integer() }),
  tick: argsSchema({ n: Type.Integer() }),
});

/** Ferry: one transport serving, another calling, as two services would. */
async function ferrySide(prefix: string) {
  const serverTransport = await createTransport({ url: BROKER_URL, prefix });
  const clientTransport = await createTransport({ url: BROKER_URL, prefix });
  const endpoint = new BenchEndpoint();
  const server = new RpcServer(serverTransport, { topic: TOPIC, server: HOST }, [served(endpoint, BENCH_CONTRACT)], { concurrency: 64 });
  await server.start();
  const client = new RpcClient<BenchEndpoint>(clientTransport, { topic: TOPIC }, { timeoutMs: 10_000 });
  const ctx = newRequestContext({ user_id: 'bench' });
  return {
    endpoint,
    call: (n: number) => client.call(ctx, 'ping', { n }),
    cast: (n: number) => client.cast(ctx, 'tick', { n }),
    async close() {
      await server.stop();
      await Promise.all([serverTransport, clientTransport].map((t: Transport) => t.close()));
    },
  };
}

/**
 * The baseline: plain amqplib request/reply through a queue, a reply queue and correlationId. With `ferryTopology`
 * it routes like Ferry (topic exchange, durable queue, reply exchange, expiration), isolating the library's own cost.
 */
async function rawSide(prefix: string, ferryTopology: boolean) {
  const serverConn = await connect(BROKER_URL, { noDelay: true });
  const clientConn = await connect(BROKER_URL, { noDelay: true });
  const serverCh = await serverConn.createChannel();
  const clientCh = await clientConn.createChannel();
  const requests = `${prefix}raw_requests${ferryTopology ? '_routed' : ''}`;
  const requestExchange = ferryTopology ? `${prefix}raw_ferry` : '';
  const replyExchange = ferryTopology ? `${prefix}raw_ferry_reply` : '';
  await serverCh.assertQueue(requests, { durable: ferryTopology, autoDelete: true });
  if (ferryTopology) {
    await serverCh.assertExchange(requestExchange, 'topic', { durable: false, autoDelete: true });
    await serverCh.bindQueue(requests, requestExchange, 'raw');
    await serverCh.assertExchange(replyExchange, 'direct', { durable: false, autoDelete: true });
  }
  await serverCh.prefetch(64);
  await serverCh.consume(requests, (m) => {
    if (!m) return;
    const body = JSON.parse(m.content.toString('utf8')) as { n: number };
    serverCh.publish(replyExchange, m.properties.replyTo as string, Buffer.from(JSON.stringify({ result: { n: body.n } })), {
      correlationId: m.properties.correlationId as string,
    });
    serverCh.ack(m);
  });
  const { queue: replyQueue } = await clientCh.assertQueue('', { exclusive: true, autoDelete: true });
  if (ferryTopology) await clientCh.bindQueue(replyQueue, replyExchange, replyQueue);
  const pending = new Map<string, (body: unknown) => void>();
  await clientCh.consume(
    replyQueue,
    (m) => {
      if (!m) return;
      const id = m.properties.correlationId as string;
      pending.get(id)?.(JSON.parse(m.content.toString('utf8')));
      pending.delete(id);
    },
    { noAck: true },
  );
  return {
    call: (n: number) =>
      new Promise<unknown>((resolve) => {
        const correlationId = randomUUID();
        pending.set(correlationId, resolve);
        const body = Buffer.from(JSON.stringify({ n }));
        if (ferryTopology) clientCh.publish(requestExchange, 'raw', body, { correlationId, replyTo: replyQueue, expiration: '10000' });
        else clientCh.publish('', requests, body, { correlationId, replyTo: replyQueue });
      }),
    async close() {
      await Promise.all([clientConn, serverConn].map((c: ChannelModel) => c.close()));
    },
  };
}

async function castThroughput(ferry: Awaited<ReturnType<typeof ferrySide>>): Promise<{ seconds: number; confirmedSeconds: number }> {
  const handled = ferry.endpoint.expectCasts(CASTS);
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < CASTS) await ferry.cast(next++);
  };
  await Promise.all(Array.from({ length: CAST_WINDOW }, worker));
  const confirmedSeconds = (performance.now() - started) / 1000;
  await handled;
  return { seconds: (performance.now() - started) / 1000, confirmedSeconds };
}

const fmt = (ms: number) => ms.toFixed(3).padStart(8);

async function main(): Promise<void> {
  const prefix = `bench_${randomBytes(4).toString('hex')}_`;
  console.log(`Ferry RPC benchmark against ${redactUrl(BROKER_URL)} (prefix ${prefix})`);
  const raw = await rawSide(prefix, false);
  const rawRouted = await rawSide(prefix, true);
  const ferry = await ferrySide(prefix);
  const sides = [
    { label: 'raw amqplib request/reply', side: raw, samples: [] as number[] },
    { label: 'raw, routed like Ferry', side: rawRouted, samples: [] as number[] },
    { label: 'ferry call', side: ferry, samples: [] as number[] },
  ];
  try {
    for (const { side } of sides) await timeSequential(WARMUP_CALLS, side.call);
    // Rotate the order each round so no side always runs on a warmer broker.
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < sides.length; i++) {
        const { side, samples } = sides[(i + round) % sides.length];
        samples.push(...(await timeSequential(CALLS_PER_ROUND, side.call)));
      }
    }
    const [rawStats, rawRoutedStats, ferryStats] = sides.map((s) => stats(s.samples));
    const casts = await castThroughput(ferry);

    console.log('');
    console.log('                              p50 ms    p99 ms   mean ms      n');
    for (const [label, s] of [
      [sides[0].label, rawStats],
      [sides[1].label, rawRoutedStats],
      [sides[2].label, ferryStats],
    ] as const) {
      console.log(`${label.padEnd(28)}${fmt(s.p50)}  ${fmt(s.p99)}  ${fmt(s.mean)}  ${String(s.n).padStart(5)}`);
    }
    console.log('');
    console.log(
      `ferry cast: ${CASTS} casts (${CAST_WINDOW} awaiting confirm at once) confirmed in ${casts.confirmedSeconds.toFixed(2)} s, ` +
        `all handled in ${casts.seconds.toFixed(2)} s → ${Math.round(CASTS / casts.seconds)} casts/s`,
    );
    const ratio = ferryStats.p50 / rawStats.p50;
    const met = ratio <= TARGET_RATIO;
    console.log('');
    console.log(`p50 ferry / p50 raw = ${ratio.toFixed(2)} (target ≤ ${TARGET_RATIO}): ${met ? 'MET' : 'NOT MET'}`);
    console.log(`(p50 ferry / p50 raw routed like Ferry = ${(ferryStats.p50 / rawRoutedStats.p50).toFixed(2)}: the library's own share)`);
  } finally {
    await ferry.close();
    await raw.close();
    await rawRouted.close();
    await deleteRpcTopology(BROKER_URL, { prefix, topics: [TOPIC], servers: [HOST] });
  }
}

main().catch((err: unknown) => {
  console.error('RPC benchmark failed:', err);
  process.exitCode = 1;
});
