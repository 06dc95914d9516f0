// Routes TypeORM's logging into pino at debug. Parameter values never reach the log (they carry hashes and secrets).
import type { Logger as TypeOrmLogger } from 'typeorm';
import type { Logger } from '../log';

/** Queries slower than this are logged at warn. */
export const SLOW_QUERY_MS = 2000;

export class PinoTypeOrmLogger implements TypeOrmLogger {
  constructor(private readonly out: Logger) {}

  logQuery(query: string, parameters?: unknown[] | object): void {
    if (this.out.isLevelEnabled('debug')) this.out.debug({ sql: query, params: countParams(parameters) }, 'db query');
  }

  logQueryError(error: string | Error, query: string, parameters?: unknown[] | object): void {
    // Failed statements are often expected (a lost race, a unique violation the caller handles); the caller decides.
    if (this.out.isLevelEnabled('debug')) {
      this.out.debug({ sql: query, params: countParams(parameters), err: typeof error === 'string' ? error : error.message }, 'db query failed');
    }
  }

  logQuerySlow(time: number, query: string, parameters?: unknown[] | object): void {
    this.out.warn({ sql: query, params: countParams(parameters), ms: time }, 'slow db query');
  }

  logSchemaBuild(message: string): void {
    this.out.debug({ schema: true }, message);
  }

  logMigration(message: string): void {
    this.out.debug({ migration: true }, message);
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') this.out.warn({ source: 'typeorm' }, String(message));
    else this.out.debug({ source: 'typeorm' }, String(message));
  }
}

function countParams(parameters?: unknown[] | object): number {
  if (!parameters) return 0;
  return Array.isArray(parameters) ? parameters.length : Object.keys(parameters).length;
}

/** A connection URL fit for a log line: the password replaced by '***'. */
export function redactDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable database url)';
  }
}
