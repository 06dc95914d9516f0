// `ferry api|scheduler|compute`: one service per process, sharing a database and a RabbitMQ bus.
import type { FerryConfig } from '@ferry/common/config';
import type { RunningService, ServiceDeps } from '@ferry/common/service';
import { scrapeProcessMetrics, type MetricsListener } from '@ferry/common/metrics';
import { scrapeApiMetrics, startApi } from '@ferry/api';
import { startCompute } from '@ferry/compute';
import { startScheduler } from '@ferry/scheduler';
import { startMetricsIfAsked } from '../metrics-listener';
import { openBus, openDb, rootLogger, untilSignal } from '../runtime';
import { exitOnceIdle, stopWithin, untilStopRequested } from '../stop-services';

export type ServiceName = 'api' | 'scheduler' | 'compute';

const starters: Record<ServiceName, (deps: ServiceDeps, host: string) => Promise<RunningService>> = {
  api: (deps, host) => startApi(deps, { host }),
  scheduler: (deps, host) => startScheduler(deps, { host }),
  compute: (deps, host) => startCompute(deps, { host }),
};

export class UsageError extends Error {}

export async function runService(name: ServiceName, config: Readonly<FerryConfig>, host: string): Promise<void> {
  if (!config.transportUrl) {
    throw new UsageError(`ferry ${name} runs alone and needs a shared bus: set FERRY_TRANSPORT_URL (e.g. amqp://guest:guest@127.0.0.1:5672), or run everything with \`ferry up\``);
  }
  if (!config.databaseUrl) {
    throw new UsageError(`ferry ${name} runs alone and needs a shared database: set FERRY_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/ferry), or run everything with \`ferry up\``);
  }
  const root = rootLogger(config);
  const log = root.child({ service: `ferry-${name}`, host });
  const db = await openDb(config, log);
  const transport = await openBus(config, log, `ferry-${name}:${host}`);
  const signalled = untilSignal(log);
  let service: RunningService | undefined;
  let metrics: MetricsListener | undefined;
  try {
    service = await starters[name]({ config, db, transport, log: root }, host);
    // The API process adds the database's figures to its own; the others serve what they count themselves.
    metrics = await startMetricsIfAsked(config, name === 'api' ? () => scrapeApiMetrics(db.dataSource) : scrapeProcessMetrics, log);
  } catch (err) {
    await service?.stop();
    await transport.close();
    await db.close();
    throw err;
  }
  const reason = await untilStopRequested(signalled, [service]);
  // Past the stop timeout this throws: the process exits with the steps still running, which recovery resumes.
  await stopWithin([[service]], config.stopTimeoutSeconds, log);
  await metrics?.stop();
  await transport.close();
  await db.close();
  if ('leaseLost' in reason) throw reason.leaseLost;
  log.info('stopped');
  exitOnceIdle(log);
}
