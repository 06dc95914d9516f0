// Reads every compute host's state from the database: nodes with their allocations, services, and the database clock.
import { listHostCapacities, listServices } from '@ferry/common/db';
import type { DataSource } from 'typeorm';
import { buildHostStates, type HostState } from './host-state';

export async function loadHostStates(ds: DataSource, serviceDownSeconds: number): Promise<HostState[]> {
  // Heartbeats are stamped on the database clock; judge their age on the same clock.
  const [[{ now }], nodes, services] = await Promise.all([
    ds.query('SELECT now() AS now') as Promise<{ now: Date }[]>,
    listHostCapacities(ds),
    listServices(ds),
  ]);
  return buildHostStates(nodes, services, new Date(now), serviceDownSeconds);
}
