// What every move (cold or live) asks of the scheduler: where the instance may go, a claimed destination with
// alternates recorded as an instance action event, and, when no host takes it, the same fault and notification.
import type { FerryConfig } from '@ferry/common/config';
import { claimResources, flavorResources, runActionEvent, type EventedResult, type Instance, type InstanceFlavor } from '@ferry/common/db';
import { NoValidHost, REQUESTED_AZ_KEY, type RequestSpec, type Selection } from '@ferry/common/domain';
import type { Logger } from '@ferry/common/log';
import { notifyMoveNotPlaced, type Notifier } from '@ferry/common/notify';
import type { RequestContext } from '@ferry/common/rpc';
import type { DataSource } from 'typeorm';
import type { HostState } from './host-state';
import { claimCounted, placeInstance } from './placement';
import type { PlacementReads } from './placement-reads';

export interface MoveDestinationDeps {
  ds: DataSource;
  config: Readonly<Pick<FerryConfig, 'schedulerMaxAttempts' | 'serviceDownSeconds'>>;
  log: Logger;
  /** compute_task.migrate_server.error when no host takes the move. */
  notifier?: Notifier;
  /** Where a move's placement is read: one read for the moves that ask at once. */
  placements: PlacementReads;
}

/** Where a move may go: room for `flavor`, never the source, only the requested host if one was named, same zone as asked at create. */
export function moveRequestSpec(instance: Instance, flavor: InstanceFlavor, requestedHost: string | null | undefined): RequestSpec {
  return {
    flavor,
    image_ref: instance.image_ref,
    project_id: instance.project_id,
    availability_zone: instance.system_metadata?.[REQUESTED_AZ_KEY] ?? null,
    ...(requestedHost ? { force_hosts: [requestedHost] } : {}),
    ignore_hosts: instance.host ? [instance.host] : [],
    num_attempts: 1,
  };
}

/**
 * Claims a destination (and alternates) under the instance action event `event`. A repeated request reuses the
 * destination the first delivery claimed. `forced` (live migration's 2.30–2.67 `force`) claims the requested host
 * without the filters; the claim itself still refuses a host without room. Returns once the claim is made, with the
 * event's closing write under way: the caller casts to the destination meanwhile, then awaits `closed`.
 */
export async function claimMoveDestination(
  deps: MoveDestinationDeps, ctx: RequestContext, instance: Instance, spec: RequestSpec, event: string, forced = false,
): Promise<EventedResult<Selection>> {
  const { ds } = deps;
  return runActionEvent(ds, ctx, instance.uuid, event, null, () => deps.placements.place(instance.uuid, async ({ hosts, heldHosts }) => {
    const held = heldHosts.find((h) => h !== instance.host);
    const named = spec.force_hosts?.[0];
    if (forced && named && !held) return claimForced(ds, hosts, instance.uuid, named, spec);
    return placeInstance(hosts, instance.uuid, spec, { claim: (c) => claimResources(ds, c), maxAttempts: deps.config.schedulerMaxAttempts, heldHost: held });
  }));
}

/** The named host, unfiltered; counted on the read's host states like any claim, so moves placed beside it see it. */
async function claimForced(ds: DataSource, hosts: readonly HostState[], uuid: string, host: string, spec: RequestSpec): Promise<Selection> {
  const resources = flavorResources(spec.flavor);
  if (await claimCounted(hosts.find((h) => h.host === host), resources, () => claimResources(ds, { consumer_uuid: uuid, host, ...resources }))) {
    return { instance_uuid: uuid, host, node: host, alternates: [] };
  }
  throw new NoValidHost(`No valid host was found. Host ${host} has no room for the instance.`, { host });
}

/** The instance fault for a move no host took: NoValidHost as Nova words it; anything else with its stack. */
export function noDestinationFault(err: unknown): { message: string; details: string | null } {
  const e = err as Error;
  if (err instanceof NoValidHost) return { message: e.message, details: null };
  return { message: `Cannot schedule the move: ${e.message}`, details: e.stack ?? null };
}

/** Logs and announces (compute_task.migrate_server.error) a move that stays where it is. */
export async function reportNoDestination(deps: MoveDestinationDeps, instance: Instance, err: unknown, fields: Record<string, unknown>): Promise<void> {
  deps.log.warn({ instance_uuid: instance.uuid, ...fields, err: (err as Error).message }, 'no destination for the move; the instance stays where it runs');
  await notifyMoveNotPlaced(deps.notifier, instance, err);
}
