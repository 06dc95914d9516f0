// Where a placement goes when a host cannot take it, in one place for every caller: the scheduler's first choice
// (best-first claims, the hosts after the winner kept as alternates) and a compute's retry after its own attempt failed
// (a build's spawn, a cold move's prep, a live migration's destination checks), which claims the next alternate whose
// compute is up, counting attempts against the same limit.
import type { DataSource } from 'typeorm';
import { claimResources, flavorResources, type InstanceFlavor } from '../db';
import type { RequestSpec } from '../domain';
import { COMPUTE_BINARY } from '../service/binaries';
import { serviceState, takesWork } from '../service/status';
import { readPlacementSnapshot } from './placement-snapshot';

/** Compute hosts whose service takes work now (the scheduler's ComputeFilter applies the same rule). */
export async function usableComputeHosts(ds: DataSource, serviceDownSeconds: number): Promise<Set<string>> {
  // The services judged on the database clock their heartbeats were stamped on.
  const { now, services } = await readPlacementSnapshot(ds);
  return new Set(services.filter((s) => s.binary === COMPUTE_BINARY && takesWork(serviceState(s, now, serviceDownSeconds))).map((s) => s.host));
}

/**
 * Claims the first host of `hosts` (in order) that `claim` wins; returns its index, or -1 when every claim lost. The
 * one loop of every placement: the scheduler over its weighed candidates, a retry over the alternates.
 */
export async function claimFirst(hosts: readonly string[], claim: (host: string) => Promise<boolean>): Promise<number> {
  for (const [i, host] of hosts.entries()) if (await claim(host)) return i;
  return -1;
}

export interface RetryRequest {
  consumer_uuid: string;
  flavor: InstanceFlavor;
  /** The hosts the scheduler kept after its choice, best first. */
  alternates: readonly string[];
  /** Hosts never to try: the one that just failed, the instance's own. */
  exclude: readonly (string | null)[];
  /** The attempt that just failed (1 for the scheduler's choice). */
  attempt: number;
  maxAttempts: number;
  serviceDownSeconds: number;
}

export type RetryPlan =
  | { host: string; remaining: string[]; attempt: number }
  | { none: 'attempts' | 'hosts' };

/** The next attempt after a failed one: an alternate claimed (atomically, as the scheduler claims), or why there is none. */
export async function claimNextAttempt(ds: DataSource, req: RetryRequest): Promise<RetryPlan> {
  if (req.attempt >= req.maxAttempts) return { none: 'attempts' };
  const up = await usableComputeHosts(ds, req.serviceDownSeconds);
  const candidates = req.alternates.filter((h) => !req.exclude.includes(h));
  const resources = flavorResources(req.flavor);
  const i = await claimFirst(candidates, async (host) => up.has(host) && claimResources(ds, { consumer_uuid: req.consumer_uuid, host, ...resources }));
  return i < 0 ? { none: 'hosts' } : { host: candidates[i]!, remaining: candidates.slice(i + 1), attempt: req.attempt + 1 };
}

/** The request spec the next attempt carries: its number, and the host that failed among those to ignore. */
export function nextAttemptSpec(spec: RequestSpec, attempt: number, failedHost: string): RequestSpec {
  return { ...spec, num_attempts: attempt, ignore_hosts: [...(spec.ignore_hosts ?? []), failedHost] };
}
