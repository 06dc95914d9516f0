// `ferry status`: every service, its heartbeat age and whether it is up.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FerryConfig } from '@ferry/common/config';
import { embeddedSocketDir, listServices, openDatabase, type FerryDatabase } from '@ferry/common/db';
import { silentLogger } from '@ferry/common/log';
import { serviceState, type ServiceState } from '@ferry/common/service';
import { UsageError } from './service';

/** Connects to the configured database, or to the embedded one a running `ferry up` serves. */
async function connect(config: Readonly<FerryConfig>): Promise<FerryDatabase> {
  const log = silentLogger();
  if (config.databaseUrl) return openDatabase({ url: config.databaseUrl, stateDir: config.stateDir, log, poolSize: 1 });
  const socketDir = embeddedSocketDir(config.stateDir);
  if (!existsSync(join(socketDir, '.s.PGSQL.5432'))) {
    throw new UsageError(`Ferry is not running here: no embedded database socket in ${socketDir}. Start it with \`npm start\` (ferry up), or set FERRY_DATABASE_URL / FERRY_STATE_DIR to point at a running deployment.`);
  }
  return openDatabase({ url: `postgres://ferry@localhost/ferry?host=${encodeURIComponent(socketDir)}`, stateDir: config.stateDir, log, poolSize: 1 });
}

export async function collectStatus(config: Readonly<FerryConfig>): Promise<ServiceState[]> {
  const db = await connect(config);
  try {
    const [{ now }] = await db.dataSource.query('SELECT now() AS now');
    const rows = await listServices(db.dataSource);
    return rows
      .map((row) => serviceState(row, new Date(now), config.serviceDownSeconds))
      .sort((a, b) => a.binary.localeCompare(b.binary) || a.host.localeCompare(b.host, undefined, { numeric: true }));
  } finally {
    await db.close();
  }
}

export function formatStatus(states: ServiceState[]): string {
  if (states.length === 0) return 'no services have registered yet\n';
  const header = ['BINARY', 'HOST', 'STATE', 'STATUS', 'HEARTBEAT AGE'];
  const rows = states.map((s) => [
    s.binary,
    s.host,
    s.forced_down ? 'down (forced)' : s.state,
    s.disabled ? `disabled${s.disabled_reason ? ` (${s.disabled_reason})` : ''}` : 'enabled',
    s.heartbeat_age_s === null ? 'never' : `${s.heartbeat_age_s.toFixed(1)}s`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export async function status(config: Readonly<FerryConfig>, opts: { json?: boolean }): Promise<void> {
  const states = await collectStatus(config);
  process.stdout.write(opts.json ? JSON.stringify(states, null, 2) + '\n' : formatStatus(states));
}
