// The drain pass: one scheduler at a time (a Postgres advisory lock held while it reads the open drains, decides and
// notes which moves to start), then those moves start and the drains' finished cold moves are confirmed. Everything
// it decides from is in the database, so any scheduler's next pass picks up where a stopped one left off.
import type { FerryConfig } from '@ferry/common/config';
import {
  advanceDrain, advanceMigration, disableServiceForDrain, drainItems, listDrains, markDrainDispatched, movesInFlight, policyLayersOf, startAction,
  whileElected, type HostDrain,
} from '@ferry/common/db';
import { bandwidthInForce, countDrainItems, type DrainItemProgress } from '@ferry/common/domain';
import { newRequestContext } from '@ferry/common/rpc';
import type { ComputeRpcApi } from '@ferry/compute/client';
import type { EntityManager } from 'typeorm';
import { computeUsable } from '../filters/compute-filter';
import { loadHostStates } from '../load-hosts';
import { MoveBudget } from './limits';
import { startDrainMove, type DrainMoveDeps } from './start-move';

/** The advisory lock a scheduler holds while it decides the drains' next moves. */
export const SCHEDULER_DRAIN_LOCK = 'ferry-scheduler-drains';


type DrainSettings = 'drainParallelPerCluster' | 'hostLinkBandwidth' | 'driver' | 'fakeMigrationBandwidth' | 'qemuMigrationBandwidth' | 'serviceDownSeconds';

export interface DrainPassDeps extends DrainMoveDeps {
  config: Readonly<Pick<FerryConfig, DrainSettings>>;
  compute: Pick<ComputeRpcApi, 'confirmResize'>;
  owner: string;
}

interface DrainWork {
  starts: { drain: HostDrain; uuid: string }[];
  confirms: { drain: HostDrain; item: DrainItemProgress }[];
  disables: HostDrain[];
}


export async function advanceDrains(deps: DrainPassDeps): Promise<{ elected: boolean; started: number }> {
  const { ds, config, log, owner } = deps;
  if ((await listDrains(ds, { open: true })).length === 0) return { elected: false, started: 0 };
  const hosts = await loadHostStates(ds, config.serviceDownSeconds);
  if (!hosts.some(computeUsable)) {
    log.info({ owner }, 'no compute service is up; the drains wait for one');
    return { elected: false, started: 0 };
  }
  // A drained host whose compute is down starts nothing (the API would refuse the move, 409): its drain waits.
  const upSources = new Set(hosts.filter((h) => h.service?.state === 'up').map((h) => h.host));
  const decided = await whileElected(ds, SCHEDULER_DRAIN_LOCK, (em) => decide(em, config, upSources));
  if (!decided.elected) return { elected: false, started: 0 };
  const work = decided.value;
  for (const drain of work.disables) await disableServiceForDrain(ds, drain);
  for (const { drain, item } of work.confirms) await confirmMove(deps, drain, item);
  for (const { drain, uuid } of work.starts) {
    try {
      await startDrainMove(deps, drain, uuid);
    } catch (err) {
      log.error({ drain_id: drain.id, instance_uuid: uuid, err: (err as Error).message }, 'cannot start a move of the drain; it is tried again after the start grace');
    }
  }
  return { elected: true, started: work.starts.length };
}

/** Under the lock: ends the drains with nothing left, notes the moves to start now, and lists the cold moves to confirm. */
async function decide(em: EntityManager, config: DrainPassDeps['config'], upSources: ReadonlySet<string>): Promise<DrainWork> {
  const now = new Date();
  const work: DrainWork = { starts: [], confirms: [], disables: [] };
  const drains = (await listDrains(em, { open: true })).reverse();
  const progress = new Map<string, DrainItemProgress[]>();
  for (const drain of drains) progress.set(drain.id, await drainItems(em, drain, now));
  const inFlight = await movesInFlight(em);
  // Each live migration counts at the bandwidth its record says its policy set, else at what its policy would set now.
  const layers = await policyLayersOf(em, [
    ...inFlight.filter((m) => m.live && m.recorded_bandwidth === null).map((m) => m.instance_uuid),
    ...drains.flatMap((d) => progress.get(d.id)!.filter((i) => i.move === 'live' && (i.state === 'pending' || i.state === 'starting')).map((i) => i.instance_uuid)),
  ]);
  const driverBandwidth = config.driver === 'qemu' ? config.qemuMigrationBandwidth : config.fakeMigrationBandwidth;
  const bandwidthOf = (uuid: string) => bandwidthInForce(driverBandwidth, layers.get(uuid) ?? {});
  const budget = new MoveBudget({ perCluster: config.drainParallelPerCluster, linkBandwidth: config.hostLinkBandwidth }, inFlight.map((m) => ({
    source: m.source, live: m.live, bandwidth: m.recorded_bandwidth ?? bandwidthOf(m.instance_uuid),
  })));
  const counted = (drain: HostDrain, item: DrainItemProgress) => ({ source: drain.host, live: item.move === 'live', bandwidth: bandwidthOf(item.instance_uuid) });
  // Not in movesInFlight, yet holding their place: a move started whose task is not taken yet, and a cold move of the
  // drain waiting for the confirm this pass sends (its slot frees once the source copy is gone).
  for (const drain of drains) {
    for (const item of progress.get(drain.id)!) {
      if (item.state === 'starting' || item.migration_status === 'finished') budget.add(counted(drain, item));
    }
  }
  for (const drain of drains) {
    const items = progress.get(drain.id)!;
    if (!drain.service_disabled && drain.status === 'running') work.disables.push(drain);
    for (const item of items) if (item.state === 'in_flight' && item.migration_status === 'finished') work.confirms.push({ drain, item });
    const counts = countDrainItems(items);
    const busy = counts.starting + counts.in_flight;
    if (drain.status === 'cancelling' && busy === 0) await advanceDrain(em, drain.id, ['cancelling'], 'cancelled');
    if (drain.status !== 'running') continue;
    if (busy + counts.pending === 0) {
      await advanceDrain(em, drain.id, ['running'], 'completed');
      continue;
    }
    const chosen: string[] = [];
    for (const item of upSources.has(drain.host) ? items : []) {
      if (item.state !== 'pending') continue;
      if (!budget.tryAdmit({ ...counted(drain, item), perHost: drain.concurrency })) continue;
      chosen.push(item.instance_uuid);
    }
    await markDrainDispatched(em, drain.id, chosen, now);
    for (const uuid of chosen) work.starts.push({ drain, uuid });
  }
  return work;
}

/** A drain's cold move waits in VERIFY_RESIZE: the drain confirms it, as the API's confirmResize does. */
async function confirmMove(deps: DrainPassDeps, drain: HostDrain, item: DrainItemProgress): Promise<void> {
  const { ds, log } = deps;
  if (!(await advanceMigration(ds, item.migration_id!, ['finished'], 'confirming', 'scheduler'))) return;
  const ctx = newRequestContext({ ...drain.request_context, request_id: undefined });
  await startAction(ds, ctx, item.instance_uuid, 'confirmResize');
  await deps.compute.confirmResize(ctx, drain.host, item.migration_id!).catch((err: unknown) =>
    log.error({ drain_id: drain.id, migration_id: item.migration_id, err: (err as Error).message }, 'cannot cast confirm_resize; recovery on the source will confirm'));
}
