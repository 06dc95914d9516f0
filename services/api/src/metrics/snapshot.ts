// Metrics whose values come whole from a query at scrape time (tallies, SQL-bucketed histograms), registered so that
// prom-client formats them alongside the process's own.
import type { HistogramFigures } from '@ferry/common/db';
import type { Metric, Registry } from 'prom-client';

type Labels = Record<string, string | number>;

interface SnapshotValue {
  value: number;
  labels: Labels;
  /** A histogram's _bucket, _sum and _count lines name themselves. */
  metricName?: string;
}

interface SnapshotSpec {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  values: SnapshotValue[];
}

/** Adds a metric with fixed values to registry (prom-client asks it for `get()` when formatting). */
export function addSnapshot(registry: Registry, spec: SnapshotSpec): void {
  const metric = { name: spec.name, get: async () => ({ ...spec, aggregator: 'sum' as const }) };
  registry.registerMetric(metric as unknown as Metric);
}

/** The _bucket, _sum and _count lines of a histogram counted in SQL. */
export function histogramValues(name: string, bounds: readonly number[], figures: HistogramFigures[]): SnapshotValue[] {
  return figures.flatMap((f) => [
    ...bounds.map((le, i) => ({ metricName: `${name}_bucket`, labels: { ...f.labels, le }, value: f.cumulative[i]! })),
    { metricName: `${name}_bucket`, labels: { ...f.labels, le: '+Inf' }, value: f.count },
    { metricName: `${name}_sum`, labels: f.labels, value: f.sum },
    { metricName: `${name}_count`, labels: f.labels, value: f.count },
  ]);
}
