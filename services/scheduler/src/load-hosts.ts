// Reads every compute host's state from the database in one statement: nodes with their allocations, services, the
// database clock, and (for a move) the hosts where the instance already holds a claim.
import { readPlacementSnapshot } from '@ferry/common/scheduling';
import type { DataSource } from 'typeorm';
import { buildHostStates, type HostState } from './host-state';

export async function loadHostStates(ds: DataSource, serviceDownSeconds: number): Promise<HostState[]> {
  return (await loadPlacement(ds, serviceDownSeconds, null)).hosts;
}

/** The host states, and the hosts where `consumerUuid` holds a claim (oldest first). */
export async function loadPlacement(ds: DataSource, serviceDownSeconds: number, consumerUuid: string | null): Promise<{ hosts: HostState[]; heldHosts: string[] }> {
  const { capacities, services, now, heldHosts } = await readPlacementSnapshot(ds, consumerUuid);
  // Heartbeats are stamped on the database clock; judge their age on the same clock.
  return { hosts: buildHostStates(capacities, services, now, serviceDownSeconds), heldHosts };
}
