// Reads every compute host's state from the database: nodes with their allocations, services, and the database clock.
import { listHostCapacities } from '@ferry/common/db';
import { servicesOnDatabaseClock } from '@ferry/common/scheduling';
import type { DataSource } from 'typeorm';
import { buildHostStates, type HostState } from './host-state';

export async function loadHostStates(ds: DataSource, serviceDownSeconds: number): Promise<HostState[]> {
  // Heartbeats are stamped on the database clock; judge their age on the same clock.
  const [nodes, { now, services }] = await Promise.all([listHostCapacities(ds), servicesOnDatabaseClock(ds)]);
  return buildHostStates(nodes, services, now, serviceDownSeconds);
}
