// Structured logging: pino with service/host bindings, request context carried by AsyncLocalStorage.
import { AsyncLocalStorage } from 'node:async_hooks';
import pino from 'pino';

export type Logger = pino.Logger;

/** Fields that identify the request a log line belongs to. */
export interface LogContext {
  request_id?: string;
  global_request_id?: string;
  user_id?: string;
  project_id?: string;
  [key: string]: unknown;
}

const storage = new AsyncLocalStorage<LogContext>();

/** Runs fn with ctx merged into every log line written while it (and what it awaits) runs. */
export function withLogContext<T>(ctx: LogContext, fn: () => T): T {
  const merged = { ...(storage.getStore() ?? {}), ...ctx };
  return storage.run(merged, fn);
}

export function currentLogContext(): LogContext | undefined {
  return storage.getStore();
}

export interface LoggerOptions {
  /** Bound to every line; leave unset for a root that services bind themselves (one process, many services). */
  service?: string;
  host?: string;
  level?: string;
  /** true: human-readable lines (default when stdout is a terminal). */
  pretty?: boolean;
  destination?: pino.DestinationStream;
}

/** Keys whose values never reach a log line, wherever they appear. */
export const REDACTED_PATHS = [
  'password', '*.password', '*.*.password', 'adminPass', '*.adminPass',
  'token', '*.token', 'auth_token', '*.auth_token', 'headers["x-auth-token"]', 'headers["x-subject-token"]',
  'req.headers["x-auth-token"]', 'req.headers.authorization', 'transportUrl', 'databaseUrl',
];

export function createLogger(opts: LoggerOptions): Logger {
  const pretty = opts.pretty ?? Boolean(process.stdout.isTTY);
  const options: pino.LoggerOptions = {
    level: opts.level ?? process.env.FERRY_LOG_LEVEL ?? 'info',
    base: { ...(opts.service ? { service: opts.service } : {}), ...(opts.host ? { host: opts.host } : {}) },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    mixin: () => storage.getStore() ?? {},
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (opts.destination) return pino(options, opts.destination);
  if (pretty) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' } },
    });
  }
  return pino(options);
}

/** A logger that writes nothing: for library code called without one, and quiet tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
