// What keeping hosts visible costs the database: heartbeat and resource-report statements that write.
import { Counter } from 'prom-client';
import { processMetrics } from './registry';

/** heartbeat: a lease renewal (one batched statement renews every service of the process); resource_report: a compute_nodes write. */
export type LivenessWrite = 'heartbeat' | 'resource_report';

const writes = new Counter({
  name: 'ferry_liveness_writes_total',
  help: 'Statements that wrote liveness to the database: heartbeats (one per batch, however many services it renews) and resource reports that changed a compute_nodes row.',
  labelNames: ['kind'], registers: [processMetrics],
});

export function countLivenessWrite(kind: LivenessWrite): void {
  writes.inc({ kind });
}

/** The writes counted so far in this process, by kind (what the scale benchmark samples). */
export async function livenessWrites(): Promise<Record<LivenessWrite, number>> {
  const { values } = await writes.get();
  const of = (kind: LivenessWrite) => values.find((v) => v.labels.kind === kind)?.value ?? 0;
  return { heartbeat: of('heartbeat'), resource_report: of('resource_report') };
}
