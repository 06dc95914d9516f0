// ferry-compute: the per-host agent. Registers its host's resources, serves the compute topic, runs periodic tasks.
import { served } from '@ferry/common/rpc';
import { COMPUTE_BINARY, PeriodicTask, startRpcService, startServiceHeartbeat, type Heartbeat, type RunningService, type ServiceDeps } from '@ferry/common/service';
import type { ComputeContext } from './compute-context';
import { createDriver, type Driver } from './drivers';
import { ComputeManager } from './manager';
import { COMPUTE_CONTRACT } from './client/rpc-contract';
import { recoverInterruptedBuilds } from './periodic/interrupted-builds';
import { finishInterruptedDeletes } from './periodic/interrupted-deletes';
import { syncPowerStates } from './periodic/power-sync';
import { sweepStrayGuests } from './periodic/stray-guests';
import { reportResources } from './periodic/resource-report';
import { reconcileHost } from './periodic/reconcile-host';
import { COMPUTE_TOPIC, ComputeRpcApi } from './client/rpcapi';
import { autoConfirmResizes, recoverColdMoves } from './cold-migration';
import { dropIncomingFromDownSources, LiveMigrationsHere, recoverLiveMoves, settleUnsettledLiveMoves } from './live-migration';
import { createTransfer, type Transfer } from './transfer';
import { Notifier } from '@ferry/common/notify';
import { fenceEvacuatedGuests } from './evacuation/fencing';
import { fencedFile, fenceSelf, SelfFence, unfenceSelf } from './evacuation/self-fence';
import { getInstance, isForcedDown } from '@ferry/common/db';
import { selfFenceSeconds } from './evacuation/self-fence-settings';
import { recoverEvacuations } from './evacuation/recovery';
import { ForcedDownWatch } from './evacuation/forced-down-watch';

/** How old a forced-down answer may be: half the self-fence's tick, so a host learns of a force-down as fast as when it read alone. */
const FORCED_DOWN_MAX_AGE_MS = 250;

export { ComputeManager } from './manager';
export type { ComputeContext, ComputeSettings } from './compute-context';
export { BUILD_EVENT } from './build-instance/build-instance';
export { TERMINATE_EVENT } from './instance-ops/terminate';
export { ForcedDownWatch } from './evacuation/forced-down-watch';

export interface ComputeStartOptions {
  host: string;
  driver?: Driver;
  transfer?: Transfer;
  /** The compute RPC version to serve (default the newest): an older one stands for a compute of an earlier release. */
  rpcVersion?: string;
}

export async function startCompute(deps: ServiceDeps, opts: ComputeStartOptions): Promise<RunningService> {
  const log = deps.log.child({ service: COMPUTE_BINARY, host: opts.host });
  // A bad fence interval stops the compute before it claims its host or touches a guest.
  selfFenceSeconds(deps.config);
  // The host is claimed before anything touches it (driver, resource report, recovery): a second compute for the
  // same host stops here, before it could repeat a step the first one is running.
  const heartbeat = await startServiceHeartbeat(deps, { binary: COMPUTE_BINARY, topic: COMPUTE_TOPIC, host: opts.host }, log);
  try {
    return await serveHost(deps, opts, log, heartbeat);
  } catch (err) {
    await heartbeat.stop();
    throw err;
  }
}

async function serveHost(
  deps: ServiceDeps, opts: ComputeStartOptions, log: ServiceDeps['log'], heartbeat: Heartbeat,
): Promise<RunningService> {
  const driver = opts.driver ?? createDriver(deps.config, opts.host);
  await driver.init();
  const info = await driver.hostInfo();
  const stopping = new AbortController();
  const c: ComputeContext = {
    ds: deps.db.dataSource, driver, host: opts.host, node: info.hypervisor_hostname, config: deps.config, log,
    computeRpc: new ComputeRpcApi(deps.transport, { timeoutMs: deps.config.rpcTimeoutSeconds * 1000, versionCap: deps.config.upgradeLevelsCompute }),
    transfer: opts.transfer ?? createTransfer(deps.config, opts.host),
    notifier: new Notifier(deps.transport, `${COMPUTE_BINARY}:${opts.host}`, log),
    activeMoves: new Set(),
    activeTasks: new Set(),
    live: new LiveMigrationsHere(deps.config.maxConcurrentLiveMigrations),
    coldCopies: new Map(),
    fencedGuests: new Set(),
    evacuationHolds: new Map(),
    stopping: stopping.signal,
  };
  // Fencing before anything else: copies of instances evacuated away go, guests being evacuated stay stopped, and
  // guests a self-fence paused resume only where the database still places them.
  const fenced = fencedFile(deps.config.stateDir, opts.host);
  // A compute started while an admin holds its service forced down stays fenced: its host may be evacuated meanwhile.
  const forcedAtStart = await isForcedDown(c.ds, { host: opts.host, binary: COMPUTE_BINARY });
  if (forcedAtStart) {
    await fenceEvacuatedGuests(c);
    await fenceSelf(c, fenced, 'service forced down by an admin when this compute started', async (uuid) => {
      const instance = await getInstance(c.ds, uuid);
      return !instance || instance.deleted_at !== null || instance.host === c.host;
    });
  } else {
    await unfenceSelf(c, fenced);
  }
  // One read of forced_down for every host of the process at most every FORCED_DOWN_MAX_AGE_MS, not one per host per tick.
  const forcedDown = ForcedDownWatch.of(c.ds);
  const unwatch = forcedDown.watch(opts.host);
  const selfFence = new SelfFence(c, {
    lastBeat: () => heartbeat.lastSucceededAt(),
    forcedDown: () => forcedDown.isForcedDown(opts.host, FORCED_DOWN_MAX_AGE_MS),
  }, selfFenceSeconds(deps.config) * 1000, fenced, { fencedAtStart: forcedAtStart });
  await reportResources(c);
  log.info({ driver: driver.type, vcpus: info.vcpus, memory_mb: info.memory_mb, local_gb: info.local_gb, availability_zone: deps.config.availabilityZone }, 'compute node registered');
  await recoverInterruptedBuilds(c);

  const intervalMs = deps.config.powerSyncSeconds * 1000;
  const reportedStrays = new Set<string>();
  const tasks = [
    new PeriodicTask('power_state_sync', intervalMs, async () => { await syncPowerStates(c); }, log),
    new PeriodicTask('resource_report', intervalMs, () => reportResources(c), log),
    new PeriodicTask('unconfirmed_resizes', intervalMs, async () => { await autoConfirmResizes(c); }, log),
    new PeriodicTask('incoming_from_down_sources', intervalMs, async () => { await dropIncomingFromDownSources(c); }, log),
    new PeriodicTask('stray_guests', intervalMs, async () => { await sweepStrayGuests(c, reportedStrays); }, log),
    new PeriodicTask('unsettled_live_moves', intervalMs, async () => { await settleUnsettledLiveMoves(c); }, log),
    // A cold move record untouched past its deadline is resumed (a lost message, or a peer that restarted).
    new PeriodicTask('stale_moves', deps.config.reconcileIntervalSeconds * 1000, async () => {
      await recoverColdMoves(c, { staleSeconds: deps.config.reconcileMoveStepSeconds });
    }, log),
  ];
  const reconciler = new PeriodicTask('reconcile', deps.config.reconcileIntervalSeconds * 1000, async () => { await reconcileHost(c); }, log);
  tasks.push(reconciler);
  await tasks[0].runNow();
  let recovery: Promise<unknown> = Promise.resolve();
  let recovering = false;
  let tasksStopped: Promise<unknown> = Promise.resolve();
  const service = await startRpcService(deps, {
    binary: COMPUTE_BINARY, topic: COMPUTE_TOPIC, host: opts.host, endpoints: [served(new ComputeManager(c, opts.rpcVersion), COMPUTE_CONTRACT)], heartbeat,
    onStopping: () => {
      void selfFence.stop();
      unwatch();
      // No periodic run starts any more either: stopping means taking no new work, whoever would start it.
      tasksStopped = Promise.all(tasks.map((t) => t.stop()));
      stopping.abort();
      // As a crash would: the jobs end, their records stay for the recovery at the next start.
      for (const job of c.live.jobs.values()) job.abort();
    },
    onStop: async () => {
      await Promise.all([tasksStopped, recovery, ...c.live.runs]);
    },
    runningSteps: () => [
      ...[...c.activeMoves].map((id) => `migration ${id}`),
      ...(c.live.runs.size > 0 ? [`${c.live.runs.size} live migration run(s)`] : []),
      ...(recovering ? ['startup recovery of moves'] : []),
    ],
  });
  for (const t of tasks) t.start();
  selfFence.start();
  // Moves this host took part in, and deletes it had not finished, resume in the background: a disk copy must not
  // hold up the service's start.
  recovering = true;
  recovery = Promise.all([recoverColdMoves(c), recoverLiveMoves(c), recoverEvacuations(c), finishInterruptedDeletes(c)])
    .catch((err: unknown) => log.error({ err: (err as Error).message }, 'move recovery failed; the periodic pass retries'))
    .finally(() => { recovering = false; })
    // The reconciler's pass at start, once recovery has taken what it resumes.
    .then(() => (stopping.signal.aborted ? undefined : reconciler.runNow()));
  return service;
}
