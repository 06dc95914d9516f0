// `ferry up`: every service in one process, on embedded defaults unless URLs say otherwise.
import { migrate, seed } from '@ferry/common/db';
import { redactUrl, type FerryConfig } from '@ferry/common/config';
import { stopAll, type RunningService } from '@ferry/common/service';
import type { MetricsListener } from '@ferry/common/metrics';
import { scrapeApiMetrics, startApi } from '@ferry/api';
import { startCompute } from '@ferry/compute';
import { startScheduler } from '@ferry/scheduler';
import { startMetricsIfAsked } from '../metrics-listener';
import { defaultHost, openBus, openDb, rootLogger, untilSignal } from '../runtime';
import { exitOnceIdle, stopWithin, untilStopRequested } from '../stop-services';

export async function up(config: Readonly<FerryConfig>): Promise<void> {
  const host = defaultHost(config);
  const root = rootLogger(config);
  const log = root.child({ service: 'ferry-up', host });
  const db = await openDb(config, log);
  await migrate(db.dataSource);
  await seed(db.dataSource, { adminPassword: config.adminPassword, demoPassword: config.demoPassword });
  const transport = await openBus(config, log, `ferry-up:${host}`);
  const deps = { config, db, transport, log: root };
  const signalled = untilSignal(log);
  const services: RunningService[] = [];
  let scheduler: RunningService;
  const computes: RunningService[] = [];
  let api: RunningService;
  let metrics: MetricsListener | undefined;
  try {
    services.push((scheduler = await startScheduler(deps, { host })));
    for (let i = 1; i <= config.upComputes; i++) {
      const compute = await startCompute(deps, { host: `compute-${i}` });
      services.push(compute);
      computes.push(compute);
    }
    const started = await startApi(deps, { host });
    services.push((api = started));
    // One registry for every service of the process, and the database's figures: one listener serves them all.
    metrics = await startMetricsIfAsked(config, () => scrapeApiMetrics(db.dataSource), log);
    printBanner(config, started.url, metrics?.url);
  } catch (err) {
    await stopAll(services, log);
    await transport.close();
    await db.close();
    throw err;
  }
  const reason = await untilStopRequested(signalled, services);
  // The API first (no new requests), then the scheduler (no new placements), then the computes together.
  await stopWithin([[api], [scheduler], computes], config.stopTimeoutSeconds, log);
  await metrics?.stop();
  await transport.close();
  await db.close();
  if ('leaseLost' in reason) throw reason.leaseLost;
  log.info('all services stopped');
  exitOnceIdle(log);
}

function printBanner(config: Readonly<FerryConfig>, url: string, metricsUrl: string | undefined): void {
  const computes = config.upComputes === 1 ? 'compute-1' : `compute-1..${config.upComputes}`;
  process.stdout.write(
    [
      '',
      'Ferry is running: api, scheduler and compute services in one process.',
      `  API         ${url}  (compute: ${url}/compute/v2.1)`,
      `  database    ${config.databaseUrl ? redactUrl(config.databaseUrl) : `embedded Postgres in ${config.stateDir}/db`}`,
      `  bus         ${config.transportUrl ? redactUrl(config.transportUrl) : 'in-process'}`,
      `  computes    ${computes} (driver ${config.driver})`,
      `  metrics     ${metricsUrl ?? `${url}/metrics (admin token; set FERRY_METRICS_PORT for a listener without one)`}`,
      `  dashboard   ${url}/dashboard/  (log in as admin)`,
      '',
      '  Point the openstack CLI at it (clouds.yaml in the repository root names both clouds):',
      '    openstack --os-cloud ferry-demo server create --flavor m1.small --image cirros --wait vm1',
      '    openstack --os-cloud ferry-admin hypervisor list',
      `  or set OS_AUTH_URL=${url}/identity OS_USERNAME=demo OS_PROJECT_NAME=demo`,
      '    OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_PASSWORD=<FERRY_DEMO_PASSWORD, default ferry-demo>',
      ...(url.endsWith(':8774') ? [] : [`  (clouds.yaml expects port 8774; this API listens on ${url}: set auth_url accordingly)`]),
      '',
      '  In another terminal:  npx ferry status',
      '  Stop with Ctrl-C.',
      '',
    ].join('\n') + '\n',
  );
}
