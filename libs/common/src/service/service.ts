// What every Ferry service is given at start and hands back: shared dependencies in, a stop handle out.
import type { FerryConfig } from '../config';
import type { FerryDatabase } from '../db';
import type { Logger } from '../log';
import type { Transport } from '../rpc';
import type { ServiceLeaseLost } from './lease';

export const FERRY_VERSION = '0.1.0';

export interface ServiceDeps {
  config: Readonly<FerryConfig>;
  db: FerryDatabase;
  transport: Transport;
  log: Logger;
}

/** A service declines to start for a reason the operator must fix first (the command exits 2 with the message). */
export class StartRefused extends Error {}

export interface RunningService {
  /** e.g. "ferry-compute@compute-1" */
  readonly name: string;
  /** Settles only if another process took this service's lease on its host: it must then be stopped at once. */
  readonly leaseLost: Promise<ServiceLeaseLost>;
  /** Takes no new work, waits for the running steps to reach a safe point, then gives the lease up. */
  stop(): Promise<void>;
  /** The steps still running, named for the log when a stop cannot wait for them any longer. */
  unfinished(): string[];
}

/** Stops services in reverse start order; one failing to stop does not keep the others running. */
export async function stopAll(services: RunningService[], log: Logger): Promise<void> {
  for (const svc of [...services].reverse()) {
    try {
      await svc.stop();
      log.info({ service_name: svc.name }, 'stopped');
    } catch (err) {
      log.error({ service_name: svc.name, err: (err as Error).message }, 'failed to stop cleanly');
    }
  }
}
