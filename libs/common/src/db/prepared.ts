// Hot statements as named prepared statements: Postgres parses and plans them once per connection, not at every call.
import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { SLOW_QUERY_MS } from './typeorm-logger';

/**
 * Data sources whose every connection is a session of its own (Postgres at a URL). The embedded database serves all
 * its clients from one PGlite session, where a statement one connection named would collide with another's.
 */
const ownSessions = new WeakSet<DataSource>();

export function markOwnSessions(ds: DataSource): void {
  ownSessions.add(ds);
}

/**
 * Runs `text` as the prepared statement `name` where connections are sessions of their own, else as an ordinary
 * query. For statements that run on every request of a kind: on a busy Postgres, parsing and planning a small
 * statement costs as much as running it. `name` must always come with the same `text`.
 */
export async function queryPrepared<T>(ds: DataSource, name: string, text: string, values: unknown[]): Promise<T[]> {
  if (!ownSessions.has(ds)) return ds.query(text, values);
  // Straight to the driver's pg pool: a query runner per statement would cost more than the statement's own work here.
  const pool = (ds.driver as unknown as { master: Pool }).master;
  const started = Date.now();
  const { rows } = await pool.query<T & object>({ name, text, values });
  const took = Date.now() - started;
  if (took > SLOW_QUERY_MS) ds.logger.logQuerySlow(took, text, values);
  return rows;
}
