// `ferry bus tail` keeping up with a busy bus: casts published at a steady rate through RabbitMQ, seen by the real
// command (a child process printing JSON lines) and by a bare amqplib consumer in the same run.
/*
 * Method. A fresh prefix. Ferry's exchange is declared as the services declare it; the shared `compute` queue stands in
 * for the compute service (x-max-length 0: it exists, so the tail binds to it, and the broker keeps nothing in it).
 * The baseline is a bare amqplib consumer (noAck, JSON.parse of each body) on its own exclusive queue bound the same
 * way; the tail is `node tools/ferry/dist/main.js bus tail --json` with FERRY_TRANSPORT_URL and FERRY_BUS_PREFIX,
 * its stdout read here line by line. The publisher sends Ferry cast envelopes (`compute` topic, method tick, a
 * `_unique_id` holding the message's number) at RATE/s, in 5 ms steps, on its own connection. Lag = when a side
 * handed over the message (the baseline's callback; the tail's line reaching this process) − when it was published.
 * Throughput = messages received / (last received − first published). Missing = numbers never received (gaps).
 * While running: a stderr line the first time a side's lag passes LAG_ALARM_MS, and every line the tail itself writes
 * on stderr (it says when messages wait for it on the broker past 10,000, and counts what the broker drops once
 * 100,000 wait: its queue's x-max-length with drop-head, dead-lettered to a queue it purges and counts).
 * Run: npm run bench:bustail (FERRY_BENCH_BUSTAIL_RATE, FERRY_BENCH_BUSTAIL_MESSAGES; FERRY_TEST_TRANSPORT_URL picks the broker).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, type Channel, type ChannelModel } from 'amqplib';
import { redactUrl } from '@ferry/common/rpc';
import { FERRY_MAIN } from '../support/ferry-process';
import { fixed, percentile, sleep } from './support/stats';

const BROKER_URL = process.env.FERRY_TEST_TRANSPORT_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const RATE = Number(process.env.FERRY_BENCH_BUSTAIL_RATE ?? 10_000);
const MESSAGES = Number(process.env.FERRY_BENCH_BUSTAIL_MESSAGES ?? 60_000);
const STEP_MS = 5;
const LAG_ALARM_MS = 1000;
/** How long to wait for stragglers once everything is published and neither side moves. */
const SETTLE_MS = 3000;

/** One side's view: when each message arrived, by number. */
class Receiver {
  readonly lags: number[] = [];
  readonly got: Uint8Array;
  received = 0;
  last = 0;
  private alarmed = false;

  constructor(readonly label: string, private readonly sentAt: Float64Array) {
    this.got = new Uint8Array(sentAt.length);
  }

  saw(uniqueId: unknown): void {
    const n = typeof uniqueId === 'string' && uniqueId.startsWith('bench-') ? Number(uniqueId.slice(6)) : NaN;
    if (!Number.isInteger(n) || n < 0 || n >= this.got.length || this.got[n]) return;
    const now = performance.timeOrigin + performance.now();
    this.got[n] = 1;
    this.received++;
    this.last = now;
    const lag = now - this.sentAt[n]!;
    this.lags.push(lag);
    if (lag > LAG_ALARM_MS && !this.alarmed) {
      this.alarmed = true;
      process.stderr.write(`bench: ${this.label} is falling behind: message ${n} arrived ${Math.round(lag)} ms after it was published\n`);
    }
  }

  missing(published: number): number {
    let gaps = 0;
    for (let n = 0; n < published; n++) if (!this.got[n]) gaps++;
    return gaps;
  }
}

async function declareTopology(ch: Channel, prefix: string): Promise<void> {
  // As the services declare them: a durable topic exchange; the compute topic's shared queue, bound under its name.
  await ch.assertExchange(`${prefix}ferry`, 'topic', { durable: true });
  await ch.assertQueue(`${prefix}compute`, { durable: false, autoDelete: false, arguments: { 'x-max-length': 0 } });
  await ch.bindQueue(`${prefix}compute`, `${prefix}ferry`, 'compute');
}

async function startBaseline(conn: ChannelModel, prefix: string, side: Receiver): Promise<void> {
  const ch = await conn.createChannel();
  const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true });
  await ch.bindQueue(queue, `${prefix}ferry`, 'compute');
  await ch.consume(queue, (m) => {
    if (m) side.saw((JSON.parse(m.content.toString('utf8')) as { _unique_id?: unknown })._unique_id);
  }, { noAck: true });
}

async function startTail(prefix: string, side: Receiver, notices: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [FERRY_MAIN, 'bus', 'tail', '--json'], {
    env: { ...process.env, FERRY_TRANSPORT_URL: BROKER_URL, FERRY_BUS_PREFIX: prefix, FERRY_DATABASE_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let rest = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    for (const line of lines) if (line) side.saw((JSON.parse(line) as { msg_id?: unknown }).msg_id);
  });
  let ready: () => void;
  const tapping = new Promise<void>((resolve) => (ready = resolve));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n').filter(Boolean)) {
      if (/tapping/.test(line)) ready();
      else {
        notices.push(line);
        process.stderr.write(`${line}\n`);
      }
    }
  });
  child.once('exit', () => ready());
  await tapping;
  if (child.exitCode !== null) throw new Error(`ferry bus tail exited (${child.exitCode}): ${notices.join('\n')}`);
  return child;
}

/** Publishes MESSAGES casts at RATE/s; resolves with when the first went out. */
async function publish(ch: Channel, prefix: string, sentAt: Float64Array): Promise<number> {
  const started = performance.timeOrigin + performance.now();
  let sent = 0;
  while (sent < MESSAGES) {
    const due = Math.min(MESSAGES, Math.floor(((performance.timeOrigin + performance.now() - started) / 1000) * RATE) + 1);
    for (; sent < due; sent++) {
      const envelope = { method: 'tick', args: { n: sent }, version: '1.0', context: { request_id: `req-bench-${sent >> 10}`, roles: [] }, _unique_id: `bench-${sent}` };
      sentAt[sent] = performance.timeOrigin + performance.now();
      ch.publish(`${prefix}ferry`, 'compute', Buffer.from(JSON.stringify(envelope)), { contentType: 'application/json', appId: 'bench-publisher:bench-1' });
    }
    await sleep(STEP_MS);
  }
  return started;
}

async function settle(sides: Receiver[]): Promise<void> {
  let before = -1;
  for (;;) {
    const now = sides.reduce((a, s) => a + s.received, 0);
    if (sides.every((s) => s.received >= MESSAGES) || now === before) return;
    before = now;
    await sleep(SETTLE_MS);
  }
}

function row(side: Receiver, started: number) {
  const seconds = (side.last - started) / 1000;
  return {
    rate: side.received / seconds,
    p50: percentile(side.lags, 0.5),
    p99: percentile(side.lags, 0.99),
    max: percentile(side.lags, 1),
    received: side.received,
    missing: side.missing(MESSAGES),
  };
}

async function main(): Promise<void> {
  const prefix = `bench_${randomBytes(4).toString('hex')}_`;
  console.log(`ferry bus tail benchmark against ${redactUrl(BROKER_URL)} (prefix ${prefix}): ${MESSAGES.toLocaleString('en')} casts at ${RATE.toLocaleString('en')}/s`);
  const sentAt = new Float64Array(MESSAGES);
  const baseline = new Receiver('bare amqplib consumer', sentAt);
  const tailSide = new Receiver('ferry bus tail', sentAt);
  const notices: string[] = [];
  const admin = await connect(BROKER_URL);
  const consumerConn = await connect(BROKER_URL, { noDelay: true });
  const publisherConn = await connect(BROKER_URL, { noDelay: true });
  let tail: ChildProcess | undefined;
  try {
    const adminCh = await admin.createChannel();
    await declareTopology(adminCh, prefix);
    await startBaseline(consumerConn, prefix, baseline);
    tail = await startTail(prefix, tailSide, notices);
    const started = await publish(await publisherConn.createChannel(), prefix, sentAt);
    await settle([baseline, tailSide]);
    const [b, t] = [row(baseline, started), row(tailSide, started)];

    console.log('');
    console.log('                          msgs/s   lag p50 ms  lag p99 ms  lag max ms   received  missing');
    for (const [label, r] of [['bare amqplib consumer', b], ['ferry bus tail --json', t]] as const) {
      console.log(`${label.padEnd(24)}${fixed(r.rate, 0, 8)}  ${fixed(r.p50, 2, 10)}  ${fixed(r.p99, 2, 10)}  ${fixed(r.max, 1, 10)}  ${String(r.received).padStart(9)}  ${String(r.missing).padStart(7)}`);
    }
    console.log('');
    console.log(`tail / baseline: throughput ${(t.rate / b.rate).toFixed(2)}, lag p50 ${(t.p50 / b.p50).toFixed(2)}×, lag p99 ${(t.p99 / b.p99).toFixed(2)}×`);
    const keptUp = t.missing === 0 && t.p99 < LAG_ALARM_MS;
    console.log(`tail at ${RATE.toLocaleString('en')}/s: ${keptUp ? 'KEPT UP' : 'FELL BEHIND'} (p99 lag ${t.p99 < LAG_ALARM_MS ? '<' : '≥'} ${LAG_ALARM_MS} ms, ${t.missing} missing); tail notices: ${notices.length ? notices.length : 'none'}`);
    await adminCh.deleteQueue(`${prefix}compute`);
    await adminCh.deleteExchange(`${prefix}ferry`);
    for (const x of ['ferry_call', 'ferry_reply', 'ferry_notifications']) await adminCh.deleteExchange(`${prefix}${x}`);
  } finally {
    tail?.kill('SIGINT');
    await Promise.all([admin, consumerConn, publisherConn].map((c) => c.close().catch(() => undefined)));
  }
}

main().catch((err: unknown) => {
  console.error('bus tail benchmark failed:', err);
  process.exitCode = 1;
});
