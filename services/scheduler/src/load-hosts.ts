// Reads every compute host's state from the database in one statement: nodes with their allocations, services, the
// database clock, and (for a move) the hosts where each instance moved already holds a claim.
import { readPlacementSnapshot } from '@ferry/common/scheduling';
import type { DataSource } from 'typeorm';
import { buildHostStates, type HostState } from './host-state';

export async function loadHostStates(ds: DataSource, serviceDownSeconds: number): Promise<HostState[]> {
  return (await loadPlacements(ds, serviceDownSeconds, [])).hosts;
}

/** Host states shared by the placements of several consumers, and where each of them already holds a claim. */
export interface SharedPlacement {
  hosts: HostState[];
  /** The hosts where `consumerUuid` holds a claim, oldest first. */
  heldHostsOf(consumerUuid: string): string[];
}

export async function loadPlacements(ds: DataSource, serviceDownSeconds: number, consumerUuids: readonly string[]): Promise<SharedPlacement> {
  const { capacities, services, now, heldHostsOf } = await readPlacementSnapshot(ds, consumerUuids);
  // Heartbeats are stamped on the database clock; judge their age on the same clock.
  return { hosts: buildHostStates(capacities, services, now, serviceDownSeconds), heldHostsOf };
}
