// Where the embedded database keeps its files, derived from the state dir alone so another process finds them.
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The socket file name a Postgres client looks for in a socket directory at the default port. */
export const SOCKET_FILE_NAME = '.s.PGSQL.5432';

/** Unix socket paths are limited to ~104–108 bytes depending on the OS; stay below both. */
const MAX_SOCKET_PATH = 100;

export function embeddedDbDir(stateDir: string): string {
  return join(resolve(stateDir), 'db');
}

export function embeddedDataDir(stateDir: string): string {
  return join(embeddedDbDir(stateDir), 'pgdata');
}

export function embeddedLockFile(stateDir: string): string {
  return join(embeddedDbDir(stateDir), 'server.pid');
}

/**
 * The directory holding the embedded database's socket: `${stateDir}/db`, or, when that path is too long
 * for a unix socket, a directory under the system temp dir named after a hash of the state dir.
 * A Postgres client connects with host = this directory (e.g. `psql -h "$dir" -U postgres`).
 */
export function embeddedSocketDir(stateDir: string): string {
  const preferred = embeddedDbDir(stateDir);
  if (join(preferred, SOCKET_FILE_NAME).length <= MAX_SOCKET_PATH) return preferred;
  const digest = createHash('sha256').update(resolve(stateDir)).digest('hex').slice(0, 16);
  return join(tmpdir(), `ferry-db-${digest}`);
}

export function embeddedSocketPath(stateDir: string): string {
  return join(embeddedSocketDir(stateDir), SOCKET_FILE_NAME);
}
