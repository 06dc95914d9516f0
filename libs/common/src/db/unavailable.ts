// Whether an error means the database could not be reached or dropped the connection (restarting, failing over), as
// opposed to a query it refused: the first is worth a retry, and an API answers it 503, not 500.

/** Socket errors of a connection that could not be made or was cut. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);
/** Postgres SQLSTATEs: admin_shutdown, crash_shutdown, cannot_connect_now (a restart); class 08 is connection_exception. */
const SERVER_STATES = new Set(['57P01', '57P02', '57P03']);

export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; depth++) {
    const code = typeof e.code === 'string' ? e.code : undefined;
    if (code && (SOCKET_CODES.has(code) || SERVER_STATES.has(code) || /^08/.test(code))) return true;
    if (typeof e.message === 'string' && /^Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect/.test(e.message)) return true;
    e = (e.driverError ?? e.cause) as typeof e;
  }
  return false;
}
