// ferry-scheduler: picks and claims destinations; serves the scheduler topic.
import { served } from '@ferry/common/rpc';
import { PeriodicTask, SCHEDULER_BINARY, startRpcService, type RunningService, type ServiceDeps } from '@ferry/common/service';
import { Notifier } from '@ferry/common/notify';
import { ComputeRpcApi } from '@ferry/compute/client';
import { advanceDrains } from './drains/pass';
import { reconcileScheduler } from './reconciler/pass';
import { SchedulerManager } from './manager';
import { SCHEDULER_CONTRACT } from './client/rpc-contract';
import { SCHEDULER_TOPIC } from './client/rpcapi';

export * from './client';
export { SchedulerManager, SCHEDULE_EVENT, type SchedulerDeps } from './manager';
export { placeInstance, NOT_ENOUGH_HOSTS, type ClaimFn, type PlacementOptions } from './placement';
export { buildHostStates, freeResources, type HostState } from './host-state';
export { loadHostStates, loadPlacements, type SharedPlacement } from './load-hosts';
export { DEFAULT_FILTERS, runFilters, type FilterRequest, type HostFilter } from './filters';
export { weighHosts } from './weigher';

export async function startScheduler(deps: ServiceDeps, opts: { host: string }): Promise<RunningService> {
  const log = deps.log.child({ service: SCHEDULER_BINARY, host: opts.host });
  const compute = new ComputeRpcApi(deps.transport, { timeoutMs: deps.config.rpcTimeoutSeconds * 1000, versionCap: deps.config.upgradeLevelsCompute });
  const manager = new SchedulerManager({
    ds: deps.db.dataSource, config: deps.config, log, compute,
    notifier: new Notifier(deps.transport, `${SCHEDULER_BINARY}:${opts.host}`, log),
  });
  const reconcile = { ds: deps.db.dataSource, config: deps.config, log, manager, owner: `${SCHEDULER_BINARY}:${opts.host}` };
  const reconciler = new PeriodicTask('reconcile', deps.config.reconcileIntervalSeconds * 1000, async () => { await reconcileScheduler(reconcile); }, log);
  const drainPass = { ds: deps.db.dataSource, config: deps.config, log, manager, compute, owner: reconcile.owner };
  const drains = new PeriodicTask('drains', deps.config.drainIntervalMs, async () => { await advanceDrains(drainPass); }, log);
  let reconcilerStopped: Promise<void> = Promise.resolve();
  const service = await startRpcService(deps, {
    binary: SCHEDULER_BINARY, topic: SCHEDULER_TOPIC, host: opts.host, endpoints: [served(manager, SCHEDULER_CONTRACT)],
    onStopping: () => { reconcilerStopped = Promise.all([reconciler.stop(), drains.stop()]).then(() => undefined); },
    onStop: () => reconcilerStopped,
  });
  // A pass at start (in the background: a re-drive must not hold up the service), then one every interval.
  reconciler.start();
  void reconciler.runNow();
  drains.start();
  return service;
}
export { migrateServer, MIGRATE_SERVER_EVENT } from './moves';
export { moveRequestSpec } from './move-destination';
export { liveMigrateServer, LIVE_MIGRATE_EVENT } from './live-moves';
export { reconcileScheduler, SCHEDULER_RECONCILER_LOCK, type SchedulerPassReport } from './reconciler/pass';
export { SCHEDULER_REDRIVES } from './reconciler/redrives';
export { advanceDrains, SCHEDULER_DRAIN_LOCK } from './drains/pass';
