// The process's metrics listener, when FERRY_METRICS_PORT asks for one: one per process, whatever services it runs.
import type { FerryConfig } from '@ferry/common/config';
import type { Logger } from '@ferry/common/log';
import { startMetricsListener, type MetricsListener } from '@ferry/common/metrics';

export async function startMetricsIfAsked(config: Readonly<FerryConfig>, scrape: () => Promise<string>, log: Logger): Promise<MetricsListener | undefined> {
  if (config.metricsPort === undefined) return undefined;
  return startMetricsListener({ listen: config.metricsListen, port: config.metricsPort, scrape, log });
}
