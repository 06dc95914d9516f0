// Writes a service's liveness into the services table every few seconds, on the database clock, holding the
// service's lease on its host: the first beat claims it, every beat renews it, a clean stop gives it up.
import type { DataSource } from 'typeorm';
import { claimServiceLease, releaseServiceLease, renewServiceLease, serviceLeaseHolder, type HeartbeatReport, type LeaseOwner } from '../db';
import type { Logger } from '../log';
import { countLivenessWrite } from '../metrics';
import { HeartbeatBatch, type BatchedBeat } from './heartbeat-batch';
import { newLeaseOwner, serviceLeaseSeconds, ServiceLeaseHeld, ServiceLeaseLost } from './lease';
import { FERRY_VERSION, type ServiceDeps } from './service';

export interface HeartbeatOptions {
  dataSource: DataSource;
  host: string;
  binary: string;
  topic: string;
  version: string;
  intervalMs: number;
  /** How long a beat's claim on the host lasts (see serviceLeaseSeconds). */
  leaseSeconds: number;
  log: Logger;
}

export interface Heartbeat {
  /** Settles only if another process took the lease: the service must then stop taking work. */
  readonly lost: Promise<ServiceLeaseLost>;
  /** Stops beating and gives the lease up (if this process still holds it). */
  stop(): Promise<void>;
  /** When a beat last reached the database (Date.now() of its answer): a compute fences itself when this grows old. */
  lastSucceededAt(): number;
}

/** How often a claim is retried when the holder seen a moment ago is already gone (it released or expired meanwhile). */
const CLAIM_ATTEMPTS = 3;

/**
 * Claims the lease with a first heartbeat (so a started service is visible at once), then renews it every intervalMs
 * in the process's heartbeat batch (one statement for every service of the process on the same database).
 * Throws ServiceLeaseHeld while another process holds the lease.
 */
export async function startHeartbeat(opts: HeartbeatOptions): Promise<Heartbeat> {
  const report: HeartbeatReport = { host: opts.host, binary: opts.binary, topic: opts.topic, version: opts.version };
  const key = { host: opts.host, binary: opts.binary };
  const owner: LeaseOwner = newLeaseOwner();
  await claim(opts, report, owner);
  let lastSuccess = Date.now();

  let onLost!: (err: ServiceLeaseLost) => void;
  const lost = new Promise<ServiceLeaseLost>((resolve) => { onLost = resolve; });
  let failing = false;
  let stopped = false;
  const batch = HeartbeatBatch.of(opts.dataSource, opts.intervalMs);
  const succeeded = () => {
    if (!stopped) lastSuccess = Date.now();
    if (failing) opts.log.info('heartbeat recovered');
    failing = false;
  };
  const failed = (err: Error) => {
    // A missed beat is not fatal: the service is reported down, and its lease open, only after several in a row.
    if (!failing) opts.log.warn({ err: err.message }, 'heartbeat write failed; will keep trying');
    failing = true;
  };
  const member: BatchedBeat = {
    renewal: { host: opts.host, binary: opts.binary, owner: owner.token, leaseSeconds: opts.leaseSeconds },
    renewed: succeeded,
    // Alone, the renewal writes a deleted row anew, or finds the lease taken.
    missed: async () => {
      try {
        if (await renewServiceLease(opts.dataSource, report, owner, opts.leaseSeconds)) {
          countLivenessWrite('heartbeat');
          succeeded();
          return;
        }
        stopped = true;
        void batch.leave(member);
        const err = new ServiceLeaseLost(opts.host, opts.binary, await serviceLeaseHolder(opts.dataSource, key).catch(() => undefined));
        opts.log.error({ err: err.message }, 'service lease lost');
        onLost(err);
      } catch (err) {
        failed(err as Error);
      }
    },
    failed,
  };
  batch.join(member);
  return {
    lost,
    lastSucceededAt: () => lastSuccess,
    async stop() {
      stopped = true;
      await batch.leave(member);
      await releaseServiceLease(opts.dataSource, key, owner).catch((err: Error) =>
        opts.log.warn({ err: err.message }, 'cannot release the service lease; it expires on its own'));
    },
  };
}

async function claim(opts: HeartbeatOptions, report: HeartbeatReport, owner: LeaseOwner): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    if (await claimServiceLease(opts.dataSource, report, owner, opts.leaseSeconds)) {
      opts.log.debug({ lease_seconds: opts.leaseSeconds }, 'service lease claimed');
      return;
    }
    const holder = await serviceLeaseHolder(opts.dataSource, { host: opts.host, binary: opts.binary });
    if (holder) throw new ServiceLeaseHeld(opts.host, opts.binary, holder);
    if (attempt >= CLAIM_ATTEMPTS) throw new Error(`cannot claim the lease of ${opts.binary} on host ${opts.host}: it changes hands too fast`);
  }
}

/** startHeartbeat with the service's settings: the heartbeat interval and the lease length. */
export function startServiceHeartbeat(deps: ServiceDeps, who: { binary: string; topic: string; host: string }, log: Logger): Promise<Heartbeat> {
  return startHeartbeat({
    dataSource: deps.db.dataSource, ...who, version: FERRY_VERSION,
    intervalMs: deps.config.heartbeatSeconds * 1000, leaseSeconds: serviceLeaseSeconds(deps.config), log,
  });
}
