// The scheduler's RPC endpoint: select and claim hosts, and start builds on them (or fail the instances with a fault).
import type { FerryConfig } from '@ferry/common/config';
import {
  claimResources, getInstance, listAllocations, recordInstanceFault, releaseClaim, withActionEvent, type Instance,
} from '@ferry/common/db';
import { updateInstanceAsScheduler } from '@ferry/common/scheduling';
import { FerryError, NoValidHost, VM_STATES } from '@ferry/common/domain';
import type { Logger } from '@ferry/common/log';
import type { Notifier } from '@ferry/common/notify';
import type { RequestContext } from '@ferry/common/rpc';
import type { DataSource } from 'typeorm';
import type { ComputeRpcApi } from '@ferry/compute/client';
import type { HostState } from './host-state';
import { loadHostStates, loadPlacements } from './load-hosts';
import { PlacementReads } from './placement-reads';
import { placeInstance } from './placement';
import { evacuateServer } from './evacuations';
import { liveMigrateServer } from './live-moves';
import { migrateServer } from './moves';
import { SCHEDULER_RPC_VERSION, type MigrateServerRequest, type RequestSpec, type SchedulerEndpoint, type Selection } from './client/rpcapi';
import { crashPoint } from '@ferry/common/chaos';

export const SCHEDULE_EVENT = 'schedule_instances';

export interface SchedulerDeps {
  ds: DataSource;
  config: Readonly<Pick<FerryConfig, 'schedulerMaxAttempts' | 'serviceDownSeconds'>>;
  log: Logger;
  /** Where builds and moves are cast. */
  compute: Pick<ComputeRpcApi, 'buildAndRunInstance' | 'prepResize' | 'checkCanLiveMigrateDestination' | 'rebuildInstance'>;
  notifier?: Notifier;
}

/** A building instance still waiting for a host: what schedule_and_build_instances acts on. */
const AWAITING_HOST = { vm_states: [VM_STATES.BUILDING], task_states: ['scheduling'] } as const;

export class SchedulerManager implements SchedulerEndpoint {
  readonly target = { version: SCHEDULER_RPC_VERSION };

  /** One read of the hosts for the moves that ask at once; the dependencies are looked up when a read is made. */
  private readonly placements = new PlacementReads((uuids) => loadPlacements(this.deps.ds, this.deps.config.serviceDownSeconds, uuids));

  constructor(private readonly deps: SchedulerDeps) {}

  private moveDeps(): SchedulerDeps & { placements: PlacementReads } {
    return { ...this.deps, placements: this.placements };
  }

  async select_destinations(_ctx: RequestContext, args: { instance_uuids: string[]; request_spec: RequestSpec }): Promise<Selection[]> {
    return this.placeAll(args.instance_uuids.map((uuid) => ({ uuid, heldHost: undefined })), args.request_spec);
  }

  async schedule_and_build_instances(ctx: RequestContext, args: { instance_uuids: string[]; request_spec: RequestSpec }): Promise<void> {
    const { ds, log } = this.deps;
    const waiting = await this.instancesAwaitingHost(args.instance_uuids);
    if (waiting.length === 0) {
      log.info({ instance_uuids: args.instance_uuids }, 'no instance of the request still awaits a host; nothing to schedule');
      return;
    }
    const uuids = waiting.map((w) => w.uuid);
    let selections: Selection[];
    try {
      selections = await withActionEvents(ds, ctx, uuids, SCHEDULE_EVENT, () => this.placeAll(waiting, args.request_spec));
    } catch (err) {
      log.warn({ instance_uuids: uuids, err: (err as Error).message }, 'scheduling failed; the instances go to ERROR');
      for (const uuid of uuids) await this.failBuild(uuid, err as Error);
      return;
    }
    for (const selection of selections) await this.startBuild(ctx, selection, args.request_spec);
  }

  migrate_server(ctx: RequestContext, args: MigrateServerRequest): Promise<void> {
    return migrateServer(this.moveDeps(), ctx, args);
  }

  live_migrate_server(ctx: RequestContext, args: { migration_id: number }): Promise<void> {
    return liveMigrateServer(this.moveDeps(), ctx, args.migration_id);
  }

  evacuate_server(ctx: RequestContext, args: { migration_id: number }): Promise<void> {
    return evacuateServer(this.moveDeps(), ctx, args.migration_id);
  }

  /** All or nothing: a claim for every instance, or none (claims already made are released) and NoValidHost. */
  private async placeAll(instances: { uuid: string; heldHost: string | undefined }[], spec: RequestSpec): Promise<Selection[]> {
    const { ds, config, log } = this.deps;
    const hosts: HostState[] = await loadHostStates(ds, config.serviceDownSeconds);
    const selections: Selection[] = [];
    /** Claims this pass made (a held claim belongs to the delivery that made it, which may be building on it). */
    const claimed: Selection[] = [];
    try {
      for (const { uuid, heldHost } of instances) {
        const selection = await placeInstance(hosts, uuid, spec, {
          claim: (claim) => claimResources(ds, claim), maxAttempts: config.schedulerMaxAttempts, heldHost,
        });
        log.info({ instance_uuid: uuid, host: selection.host, alternates: selection.alternates }, 'host claimed');
        selections.push(selection);
        if (heldHost === undefined) claimed.push(selection);
      }
    } catch (err) {
      for (const s of claimed) await releaseClaim(ds, s.instance_uuid, s.host);
      if (err instanceof NoValidHost) log.info({ details: err.details }, 'no valid host');
      throw err;
    }
    return selections;
  }

  /** The instances of the request still building and scheduling, each with the host it already holds a claim on, if any. */
  private async instancesAwaitingHost(uuids: string[]): Promise<{ uuid: string; heldHost: string | undefined }[]> {
    const waiting: { uuid: string; heldHost: string | undefined }[] = [];
    for (const uuid of uuids) {
      const instance = await getInstance(this.deps.ds, uuid);
      if (!instance || !isAwaitingHost(instance)) continue;
      // A repeated request (redelivered message) reuses the claim the first delivery made.
      const held = await listAllocations(this.deps.ds, { consumer_uuid: uuid });
      waiting.push({ uuid, heldHost: (held.find((a) => a.host === instance.host) ?? held[0])?.host });
    }
    return waiting;
  }

  /** Names the claimed host on the instance, then casts the build to it. */
  private async startBuild(ctx: RequestContext, selection: Selection, spec: RequestSpec): Promise<void> {
    const { ds, log } = this.deps;
    const { instance_uuid: uuid, host } = selection;
    const assigned = await updateInstanceAsScheduler(ds, uuid, { ...AWAITING_HOST, host: null }, { host, node: selection.node });
    if (!assigned) {
      const now = await getInstance(ds, uuid);
      const repeated = now !== undefined && isAwaitingHost(now) && now.host === host;
      if (!repeated) {
        // Deleted, or taken elsewhere while we claimed: then the claim on this host is nobody's.
        if (!now || now.deleted_at || now.host !== host) await releaseClaim(ds, uuid, host);
        log.info({ instance_uuid: uuid, host }, 'instance no longer awaits this host; build not started');
        return;
      }
    }
    crashPoint('scheduler.build.after_claim');
    try {
      await this.deps.compute.buildAndRunInstance(ctx, host, uuid, { ...spec, num_attempts: 1 }, selection.alternates);
    } catch (err) {
      log.error({ instance_uuid: uuid, host, err: (err as Error).message }, 'cannot cast the build to its host');
      await this.failBuild(uuid, err as Error, host);
    }
  }

  /** ERROR with a fault, for an instance no host will build; frees whatever it still holds. */
  private async failBuild(uuid: string, err: Error, host?: string): Promise<void> {
    const { ds, log } = this.deps;
    const expected = host === undefined ? AWAITING_HOST : { ...AWAITING_HOST, host };
    const instance = await getInstance(ds, uuid);
    if (!instance || !isAwaitingHost(instance)) return;
    // The fault first: whoever sees the instance in ERROR also sees why.
    await recordInstanceFault(ds, { instance_uuid: uuid, code: faultCode(err), message: err.message, details: err.stack ?? null, host: null });
    if (!(await updateInstanceAsScheduler(ds, uuid, expected, { vm_state: VM_STATES.ERROR, task_state: null }))) return;
    await releaseClaim(ds, uuid);
    log.info({ instance_uuid: uuid, reason: err.message }, 'instance set to ERROR');
  }
}

function isAwaitingHost(instance: Instance): boolean {
  return instance.deleted_at === null && instance.vm_state === VM_STATES.BUILDING && instance.task_state === 'scheduling';
}

/** Nova stores NoValidHost (and anything unexpected) as a 500 fault: it is the outcome of a request already answered 202. */
function faultCode(err: Error): number {
  return err instanceof FerryError && !(err instanceof NoValidHost) ? err.httpStatus : 500;
}

/** Runs fn as the same event of each instance's action (all succeed or all fail, as the placement does). */
function withActionEvents<T>(ds: DataSource, ctx: RequestContext, uuids: string[], event: string, fn: () => Promise<T>): Promise<T> {
  return uuids.reduceRight<() => Promise<T>>((inner, uuid) => () => withActionEvent(ds, ctx, uuid, event, null, inner), fn)();
}
