// The state of the compute service on an instance's host: `host_status` (2.16) and whether delete can cast.
import type { DataSource } from 'typeorm';
import { serviceState, type ServiceRecord } from '@ferry/common/service';
import { COMPUTE_BINARY } from '@ferry/compute/client';

/** Nova's host_status values; '' when the instance has no host or the host runs no compute service. */
export type HostStatus = 'UP' | 'DOWN' | 'MAINTENANCE' | 'UNKNOWN' | '';

export interface ComputeServiceState {
  up: boolean;
  hostStatus: HostStatus;
}

/** Compute service state per host, judged on the database clock (heartbeats are written with it). */
export async function computeServiceStates(ds: DataSource, hosts: readonly string[], downSeconds: number): Promise<Map<string, ComputeServiceState>> {
  const wanted = [...new Set(hosts)];
  const out = new Map<string, ComputeServiceState>();
  if (wanted.length === 0) return out;
  const rows: (ServiceRecord & { now: Date })[] = await ds.query(
    `SELECT host, "binary", topic, disabled, disabled_reason, forced_down, last_seen_up, now() AS now
       FROM services WHERE "binary" = $1 AND host = ANY($2)`,
    [COMPUTE_BINARY, wanted],
  );
  for (const row of rows) {
    const { state } = serviceState(row, new Date(row.now), downSeconds);
    const hostStatus: HostStatus = row.forced_down ? 'DOWN' : row.disabled ? 'MAINTENANCE' : state === 'up' ? 'UP' : 'UNKNOWN';
    out.set(row.host, { up: state === 'up', hostStatus });
  }
  return out;
}

export function hostStatusOf(states: Map<string, ComputeServiceState>, host: string | null): HostStatus {
  if (!host) return '';
  return states.get(host)?.hostStatus ?? '';
}
