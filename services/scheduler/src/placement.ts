// Placing one instance: filter, weigh, then claim best-first until a claim wins; the winner plus alternates is the Selection.
import { flavorResources, type ResourceClaim, type Resources } from '@ferry/common/db';
import { NoValidHost } from '@ferry/common/domain';
import { claimFirst } from '@ferry/common/scheduling';
import { runFilters, type HostFilter } from './filters';
import { consume, giveBack, noRoomFor, type HostState } from './host-state';
import type { RequestSpec, Selection } from './client/rpcapi';
import { weighHosts } from './weigher';

/** Atomically claims resources on a host; false when the host had no room left (another claim won the race). */
export type ClaimFn = (claim: ResourceClaim) => Promise<boolean>;

export interface PlacementOptions {
  claim: ClaimFn;
  /** Hosts a build may try in all: the selection plus up to maxAttempts - 1 alternates. */
  maxAttempts: number;
  filters?: readonly HostFilter[];
  /** A host the instance already holds a claim on (a repeated request): it is the selection, unfiltered. */
  heldHost?: string;
}

export const NOT_ENOUGH_HOSTS = 'There are not enough hosts available.';

/**
 * Claims a host for the instance among `hosts` (updated in place with what it claims, as it claims, so the next
 * instance of the same request, or another move placed on the same read, sees it). Throws NoValidHost when no host
 * passes the filters or every claim loses.
 */
export async function placeInstance(hosts: HostState[], instanceUuid: string, spec: RequestSpec, opts: PlacementOptions): Promise<Selection> {
  const resources = flavorResources(spec.flavor);
  const { passed, rejected } = runFilters(hosts, { spec, resources }, opts.filters);
  const candidates = weighHosts(passed);
  if (opts.heldHost !== undefined) {
    const held = opts.heldHost;
    const alternates = candidates.filter((h) => h.host !== held).slice(0, opts.maxAttempts - 1).map((h) => h.host);
    return { instance_uuid: instanceUuid, host: held, node: hosts.find((h) => h.host === held)?.node ?? held, alternates };
  }
  const lostRaces: string[] = [];
  const i = await claimFirst(candidates.map((h) => h.host), async (name) => {
    const won = await claimCounted(candidates.find((h) => h.host === name), resources, () => opts.claim({ consumer_uuid: instanceUuid, host: name, ...resources }));
    if (!won) lostRaces.push(name);
    return won;
  });
  if (i >= 0) {
    const host = candidates[i]!;
    // The hosts after the winner are the alternates a compute retries on (claimNextAttempt) when its attempt fails.
    const alternates = candidates.slice(i + 1, i + opts.maxAttempts).map((h) => h.host);
    return { instance_uuid: instanceUuid, host: host.host, node: host.node, alternates };
  }
  throw new NoValidHost(`No valid host was found. ${NOT_ENOUGH_HOSTS}`, {
    reason: NOT_ENOUGH_HOSTS, hosts: hosts.length, rejected_by: rejected, lost_claim_races: lostRaces,
  });
}

/**
 * Asks `claim` for `resources` on host `h`, counting them in on `h` while it is asked: a placement weighed on the same
 * host states meanwhile (the next instance of a request, or a move that shares this one's read) sees the room taken.
 * A claim the database refused leaves the host counted as without room for this size; one that failed, as it was.
 */
export async function claimCounted(h: HostState | undefined, resources: Resources, claim: () => Promise<boolean>): Promise<boolean> {
  if (!h) return claim();
  consume(h, resources);
  let won: boolean;
  try {
    won = await claim();
  } catch (err) {
    giveBack(h, resources);
    throw err;
  }
  if (!won) {
    giveBack(h, resources);
    noRoomFor(h, resources);
  }
  return won;
}
