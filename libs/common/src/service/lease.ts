// A service's lease on its host: who may serve a (host, binary), how long a claim lasts, and the errors that stop
// a second process from running the same host's steps.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { ConfigError, type FerryConfig } from '../config';
import type { LeaseHolder, LeaseOwner } from '../db';

/** This process as a lease owner: a fresh token per service start, so a restart in the same process is a new owner. */
export function newLeaseOwner(): LeaseOwner {
  return { token: randomUUID(), pid: process.pid, machine: hostname() };
}

/** The lease length: the setting, or three heartbeats so that one or two missed beats do not lose it. */
export function serviceLeaseSeconds(config: Pick<FerryConfig, 'serviceLeaseSeconds' | 'heartbeatSeconds'>): number {
  const seconds = config.serviceLeaseSeconds ?? 3 * config.heartbeatSeconds;
  if (seconds <= config.heartbeatSeconds) {
    // Renewed only after it expired, the lease would be up for grabs between every two heartbeats.
    throw new ConfigError('FERRY_SERVICE_LEASE_SECONDS', `must be longer than FERRY_HEARTBEAT_INTERVAL (${config.heartbeatSeconds} s), got ${seconds}`);
  }
  return seconds;
}

/** "ferry-compute" → "compute": how an operator names the service. */
function role(binary: string): string {
  return binary.replace(/^ferry-/, '');
}

/** Another process serves this host: this one must not start. */
export class ServiceLeaseHeld extends Error {
  constructor(readonly host: string, readonly binary: string, readonly holder: LeaseHolder) {
    const who = [
      `pid ${holder.pid ?? 'unknown'}`,
      `on ${holder.machine ?? 'an unknown machine'}`,
      holder.heartbeat_age_s === null ? 'no heartbeat yet' : `heartbeat ${Math.round(holder.heartbeat_age_s)} s ago`,
    ].join(', ');
    super(
      `host ${host} is already served by another ${role(binary)} process (${who}); ` +
      `stop it first, or wait ${Math.ceil(holder.expires_in_s)} s for its lease to expire if it died`,
    );
    this.name = 'ServiceLeaseHeld';
  }
}

/** Another process took this one's lease (it stalled past the lease): it must stop taking work and exit. */
export class ServiceLeaseLost extends Error {
  constructor(readonly host: string, readonly binary: string, holder: LeaseHolder | undefined) {
    const who = holder ? ` to pid ${holder.pid ?? 'unknown'} on ${holder.machine ?? 'an unknown machine'}` : '';
    super(`${role(binary)} of host ${host} lost its lease${who} (this process stalled past FERRY_SERVICE_LEASE_SECONDS?); it stopped taking work and exits so that two processes never run this host's steps`);
    this.name = 'ServiceLeaseLost';
  }
}
