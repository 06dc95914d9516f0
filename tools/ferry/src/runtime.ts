// Opens what every ferry command shares: validated config, logger, database and message bus.
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { loadConfig, redactUrl, type FerryConfig } from '@ferry/common/config';
import { openDatabase, type FerryDatabase } from '@ferry/common/db';
import { createLogger, type Logger } from '@ferry/common/log';
import { createTransport, type Transport } from '@ferry/common/rpc';

export function readConfig(overrides: Partial<FerryConfig> = {}): Readonly<FerryConfig> {
  const config = loadConfig(process.env, overrides);
  return Object.freeze({ ...config, stateDir: resolve(config.stateDir) });
}

export function defaultHost(config: Readonly<FerryConfig>): string {
  return config.host ?? hostname().split('.')[0]!;
}

/** The process's root logger: services bind their own service and host names to it. */
export function rootLogger(config: Readonly<FerryConfig>): Logger {
  return createLogger({ level: config.logLevel });
}

export async function openDb(config: Readonly<FerryConfig>, log: Logger): Promise<FerryDatabase> {
  log.info({ database: config.databaseUrl ? redactUrl(config.databaseUrl) : `embedded (${config.stateDir}/db)` }, 'opening database');
  return openDatabase({ url: config.databaseUrl, stateDir: config.stateDir, log });
}

/** The configured bus; sender (`<service>:<host>`) is what this process's messages say about who sent them. */
export async function openBus(config: Readonly<FerryConfig>, log: Logger, sender: string): Promise<Transport> {
  log.info({ bus: config.transportUrl ? redactUrl(config.transportUrl) : 'in-process' }, 'connecting to the message bus');
  return createTransport({ url: config.transportUrl, prefix: config.busPrefix, log, sender });
}

/** Resolves on the first SIGINT/SIGTERM; a second one exits at once. */
export function untilSignal(log: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolveSignal) => {
    let received = false;
    // One listener per signal for the life of the process, counting: there is never a moment without one, when a
    // signal would kill the process outright.
    const onSignal = (signal: NodeJS.Signals) => {
      if (received) process.exit(signal === 'SIGINT' ? 130 : 143);
      received = true;
      log.info({ signal }, 'shutting down (send again to force)');
      resolveSignal(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
