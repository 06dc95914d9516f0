// `ferry api|scheduler|compute`: one service per process, sharing a database and a RabbitMQ bus.
import type { FerryConfig } from '@ferry/common/config';
import type { RunningService, ServiceDeps } from '@ferry/common/service';
import { scrapeProcessMetrics, type MetricsListener } from '@ferry/common/metrics';
import { startMetricsIfAsked } from '../metrics-listener';
import { openBus, openDb, rootLogger, untilSignal } from '../runtime';
import { exitOnceIdle, stopWithin, untilStopRequested } from '../stop-services';

export type ServiceName = 'api' | 'scheduler' | 'compute';

interface ServiceStarter {
  start(deps: ServiceDeps, host: string): Promise<RunningService>;
  /** The figures the process's metrics listener serves. */
  scrape(deps: ServiceDeps): () => Promise<string>;
}

/** Each service's code is loaded only by the process that runs it: an API process loads no driver, a compute no HTTP server. */
const starters: Record<ServiceName, () => Promise<ServiceStarter>> = {
  api: async () => {
    const { scrapeApiMetrics, startApi } = await import('@ferry/api');
    // The API process adds the database's figures to its own; the others serve what they count themselves.
    return { start: (deps, host) => startApi(deps, { host }), scrape: (deps) => () => scrapeApiMetrics(deps.db.dataSource) };
  },
  scheduler: async () => {
    const { startScheduler } = await import('@ferry/scheduler');
    return { start: (deps, host) => startScheduler(deps, { host }), scrape: () => scrapeProcessMetrics };
  },
  compute: async () => {
    const { startCompute } = await import('@ferry/compute');
    return { start: (deps, host) => startCompute(deps, { host }), scrape: () => scrapeProcessMetrics };
  },
};

export class UsageError extends Error {}

/** How many fake hosts of one process start at once (each claims its lease, registers, declares its queues). */
const HOST_START_CONCURRENCY = 16;

/**
 * Runs the service for each of hosts in this process. One host is the deployment's case; many are for a simulation
 * (fake driver only): each host its own queues, lease and resource report, on the process's database pool and bus.
 */
export async function runService(name: ServiceName, config: Readonly<FerryConfig>, hosts: readonly string[]): Promise<void> {
  if (!config.transportUrl) {
    throw new UsageError(`ferry ${name} runs alone and needs a shared bus: set FERRY_TRANSPORT_URL (e.g. amqp://guest:guest@127.0.0.1:5672), or run everything with \`ferry up\``);
  }
  if (!config.databaseUrl) {
    throw new UsageError(`ferry ${name} runs alone and needs a shared database: set FERRY_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/ferry), or run everything with \`ferry up\``);
  }
  if (hosts.length > 1 && (name !== 'compute' || config.driver !== 'fake')) {
    throw new UsageError(`ferry ${name} serves one host; only \`ferry compute\` with FERRY_DRIVER=fake serves many (a simulation)`);
  }
  const host = hosts.length === 1 ? hosts[0]! : `${hosts[0]!}..${hosts[hosts.length - 1]!}`;
  const starter = await starters[name]();
  const root = rootLogger(config);
  const log = root.child({ service: `ferry-${name}`, host });
  const db = await openDb(config, log);
  const transport = await openBus(config, log, `ferry-${name}:${host}`);
  const signalled = untilSignal(log);
  const services: RunningService[] = [];
  let metrics: MetricsListener | undefined;
  try {
    const pending = [...hosts];
    await Promise.all(Array.from({ length: Math.min(HOST_START_CONCURRENCY, hosts.length) }, async () => {
      for (let next = pending.shift(); next !== undefined; next = pending.shift()) {
        services.push(await starter.start({ config, db, transport, log: root }, next));
      }
    }));
    if (hosts.length > 1) log.info({ hosts: hosts.length }, 'every host started');
    metrics = await startMetricsIfAsked(config, starter.scrape({ config, db, transport, log: root }), log);
  } catch (err) {
    await Promise.all(services.map((s) => s.stop()));
    await transport.close();
    await db.close();
    throw err;
  }
  const reason = await untilStopRequested(signalled, services);
  // Past the stop timeout this throws: the process exits with the steps still running, which recovery resumes.
  await stopWithin([services], config.stopTimeoutSeconds, log);
  await metrics?.stop();
  await transport.close();
  await db.close();
  if ('leaseLost' in reason) throw reason.leaseLost;
  log.info('stopped');
  exitOnceIdle(log);
}
