// Writes a service's liveness into the services table every few seconds, on the database clock.
import type { DataSource } from 'typeorm';
import { recordHeartbeat } from '../db';
import type { Logger } from '../log';

export interface HeartbeatOptions {
  dataSource: DataSource;
  host: string;
  binary: string;
  topic: string;
  version: string;
  intervalMs: number;
  log: Logger;
}

export interface Heartbeat {
  stop(): Promise<void>;
}

/** Records one heartbeat now (so a started service is visible at once), then one every intervalMs. */
export async function startHeartbeat(opts: HeartbeatOptions): Promise<Heartbeat> {
  const beat = () => recordHeartbeat(opts.dataSource, { host: opts.host, binary: opts.binary, topic: opts.topic, version: opts.version });
  await beat();
  let inFlight: Promise<void> = Promise.resolve();
  let failing = false;
  const timer = setInterval(() => {
    inFlight = beat().then(
      () => {
        if (failing) opts.log.info('heartbeat recovered');
        failing = false;
      },
      (err: Error) => {
        // A missed beat is not fatal: the service is reported down only after several in a row.
        if (!failing) opts.log.warn({ err: err.message }, 'heartbeat write failed; will keep trying');
        failing = true;
      },
    );
  }, opts.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await inFlight;
    },
  };
}
