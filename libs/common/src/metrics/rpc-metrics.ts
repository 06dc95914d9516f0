// RPC latency and failures by topic and method, on both sides of the bus: counted where every call, cast and handled
// message passes (the client's call/cast, the server's dispatch), never per call site.
import { Counter, Histogram } from 'prom-client';
import { processMetrics } from './registry';

export type RpcKind = 'call' | 'cast';

/** From a cast on the in-process bus (well under a millisecond) to a call that waits on a disk copy. */
const RPC_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const LABELS = ['topic', 'method', 'kind'] as const;

export type RpcSide = 'client' | 'server';

/** A side's histogram of seconds and counter of failures, both by topic, method and kind. */
function sideMetrics(side: RpcSide, secondsHelp: string, failuresHelp: string) {
  return {
    seconds: new Histogram({ name: `ferry_rpc_${side}_duration_seconds`, help: secondsHelp, labelNames: LABELS, buckets: RPC_BUCKETS, registers: [processMetrics] }),
    failures: new Counter({ name: `ferry_rpc_${side}_failures_total`, help: failuresHelp, labelNames: [...LABELS, 'error'], registers: [processMetrics] }),
  };
}

const SIDES = {
  client: sideMetrics('client',
    'Seconds an RPC took as its sender saw it: a call until its reply, a cast until the bus accepted it.',
    'RPCs whose sender got a failure (the remote failure type, MessagingTimeout, MessageUndeliverable, ...).'),
  server: sideMetrics('server',
    'Seconds a server ran the handler of an RPC it received.',
    'RPCs a server received whose handler failed or that it refused (unknown method or version, bad arguments).'),
};

export interface RpcLabels {
  topic: string;
  method: string;
  kind: RpcKind;
}

/** Settles as `work` does, counting its duration and, when it fails, the failure's type (`errorType(err)`). */
export async function timeRpc<T>(side: RpcSide, labels: RpcLabels, work: Promise<T>, errorType: (err: unknown) => string): Promise<T> {
  const { seconds, failures } = SIDES[side];
  const stop = seconds.startTimer({ ...labels });
  try {
    return await work;
  } catch (err) {
    failures.inc({ ...labels, error: errorType(err) });
    throw err;
  } finally {
    stop();
  }
}

/** A message refused before any handler ran: a failure with no duration worth timing. */
export function countRpcRefusal(labels: RpcLabels, error: string): void {
  SIDES.server.failures.inc({ ...labels, error });
}
