// Claiming an alternate host after a failed spawn: the next listed host whose compute is up and still has room.
import { claimResources, flavorResources, listServices, type InstanceFlavor } from '@ferry/common/db';
import { serviceState } from '@ferry/common/service';
import type { DataSource } from 'typeorm';
import { COMPUTE_BINARY } from '../binary';

/**
 * Tries the alternates in order; returns the first one claimed (atomically, as the scheduler claims) with the
 * alternates left after it, or undefined when none has a live compute and room.
 */
export async function claimAlternate(
  ds: DataSource, consumerUuid: string, flavor: InstanceFlavor, alternates: readonly string[], serviceDownSeconds: number,
): Promise<{ host: string; remaining: string[] } | undefined> {
  const up = await liveComputeHosts(ds, serviceDownSeconds);
  const resources = flavorResources(flavor);
  for (const [i, host] of alternates.entries()) {
    if (!up.has(host)) continue;
    if (await claimResources(ds, { consumer_uuid: consumerUuid, host, ...resources })) return { host, remaining: alternates.slice(i + 1) };
  }
  return undefined;
}

async function liveComputeHosts(ds: DataSource, serviceDownSeconds: number): Promise<Set<string>> {
  const [[{ now }], services] = await Promise.all([ds.query('SELECT now() AS now') as Promise<{ now: Date }[]>, listServices(ds)]);
  const live = services.filter((s) => s.binary === COMPUTE_BINARY && !s.disabled && serviceState(s, new Date(now), serviceDownSeconds).state === 'up');
  return new Set(live.map((s) => s.host));
}
