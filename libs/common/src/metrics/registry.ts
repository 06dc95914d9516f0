// The process's one metrics registry: every service running in a process (all of them under `ferry up`) counts here.
import { collectDefaultMetrics, Registry } from 'prom-client';

export const processMetrics = new Registry();

let defaultsCollected = false;

/** Adds Node's own metrics (CPU, memory, event loop lag) to the registry, once, when something first serves it. */
export function collectProcessDefaults(): void {
  if (defaultsCollected) return;
  defaultsCollected = true;
  collectDefaultMetrics({ register: processMetrics });
}

/** The process registry in Prometheus text format. */
export function scrapeProcessMetrics(): Promise<string> {
  collectProcessDefaults();
  return processMetrics.metrics();
}

export const METRICS_CONTENT_TYPE = processMetrics.contentType;
