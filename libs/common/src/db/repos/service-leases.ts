// Leases on services rows: one process at a time serves a (host, binary). Every decision is one conditional
// statement on the database clock, so two processes starting at once cannot both win.
import type { DataSource } from 'typeorm';
import type { HeartbeatReport } from './services';

/** Who claims or holds a lease: a random token per process, and where that process runs (for messages). */
export interface LeaseOwner {
  token: string;
  pid: number;
  machine: string;
}

/** The process that holds a lease someone else wanted, as the database sees it now. */
export interface LeaseHolder {
  pid: number | null;
  machine: string | null;
  /** Seconds since its last heartbeat, or null if it never beat. */
  heartbeat_age_s: number | null;
  /** Seconds until its lease expires unless renewed (0 if already expired). */
  expires_in_s: number;
}

type Row = { id: number };

/**
 * Writes a heartbeat that claims the lease: wins when the row is new, nobody holds the lease, or its holder let it
 * expire. Returns false (and writes nothing) while another process holds it.
 */
export async function claimServiceLease(ds: DataSource, report: HeartbeatReport, owner: LeaseOwner, leaseSeconds: number): Promise<boolean> {
  return upsertLeased(ds, report, owner, leaseSeconds, 'services.lease_owner IS NULL OR services.lease_expires_at < now()');
}

/**
 * Writes a heartbeat that extends the lease, only while owner still holds it (expired or not: nobody took it
 * meanwhile). A row deleted meanwhile is written anew. Returns false when another process took the lease.
 */
export async function renewServiceLease(ds: DataSource, report: HeartbeatReport, owner: LeaseOwner, leaseSeconds: number): Promise<boolean> {
  return upsertLeased(ds, report, owner, leaseSeconds, 'services.lease_owner = $5');
}

/** Gives the lease up (a clean stop), so the next process starts at once; does nothing if owner no longer holds it. */
export async function releaseServiceLease(ds: DataSource, key: { host: string; binary: string }, owner: LeaseOwner): Promise<void> {
  await ds.query(
    `UPDATE services SET lease_owner = NULL, lease_expires_at = NULL, lease_pid = NULL, lease_machine = NULL, updated_at = now()
     WHERE host = $1 AND "binary" = $2 AND lease_owner = $3`,
    [key.host, key.binary, owner.token],
  );
}

/** The current holder of the (host, binary) lease, or undefined when nobody holds an unexpired one. */
export async function serviceLeaseHolder(ds: DataSource, key: { host: string; binary: string }): Promise<LeaseHolder | undefined> {
  const rows = (await ds.query(
    `SELECT lease_pid, lease_machine,
            extract(epoch FROM now() - last_seen_up)::float8 AS heartbeat_age_s,
            greatest(0, extract(epoch FROM lease_expires_at - now()))::float8 AS expires_in_s
     FROM services WHERE host = $1 AND "binary" = $2 AND lease_owner IS NOT NULL AND lease_expires_at >= now()`,
    [key.host, key.binary],
  )) as { lease_pid: number | null; lease_machine: string | null; heartbeat_age_s: number | null; expires_in_s: number }[];
  const row = rows[0];
  if (!row) return undefined;
  return {
    pid: row.lease_pid, machine: row.lease_machine,
    heartbeat_age_s: row.heartbeat_age_s === null ? null : Math.max(0, Number(row.heartbeat_age_s)),
    expires_in_s: Number(row.expires_in_s),
  };
}

async function upsertLeased(ds: DataSource, report: HeartbeatReport, owner: LeaseOwner, leaseSeconds: number, condition: string): Promise<boolean> {
  const rows = (await ds.query(
    `INSERT INTO services (host, "binary", topic, version, last_seen_up, report_count, lease_owner, lease_expires_at, lease_pid, lease_machine)
     VALUES ($1, $2, $3, $4, now(), 1, $5, now() + make_interval(secs => $6), $7, $8)
     ON CONFLICT (host, "binary") DO UPDATE
       SET last_seen_up = now(), report_count = services.report_count + 1, topic = EXCLUDED.topic, version = EXCLUDED.version,
           updated_at = now(), lease_owner = EXCLUDED.lease_owner, lease_expires_at = EXCLUDED.lease_expires_at,
           lease_pid = EXCLUDED.lease_pid, lease_machine = EXCLUDED.lease_machine
       WHERE ${condition}
     RETURNING id`,
    [report.host, report.binary, report.topic, report.version, owner.token, leaseSeconds, owner.pid, owner.machine],
  )) as Row[];
  return rows.length === 1;
}

/** One lease to renew in a batch: the (host, binary) row, its holder's token, how long the renewal lasts. */
export interface LeaseRenewal {
  host: string;
  binary: string;
  owner: string;
  leaseSeconds: number;
}

/**
 * Renews many leases in one statement (the heartbeat of every service a process runs): each row is written only
 * while its owner still holds it, and a row another transaction holds locked is skipped rather than waited for, so
 * that one stuck row never holds up the other services' heartbeats. Returns the owner tokens of the renewals that
 * won; one missing lost its lease, its row, or was locked (renewServiceLease, alone, tells which).
 */
export async function renewServiceLeases(ds: DataSource, renewals: readonly LeaseRenewal[]): Promise<Set<string>> {
  if (renewals.length === 0) return new Set();
  // Through a CTE: the driver answers a bare UPDATE … RETURNING with [rows, count], a SELECT with its rows.
  const rows = (await ds.query(
    `WITH b AS (SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[], $4::float8[]) AS b(host, "binary", owner, lease_seconds)),
          held AS (SELECT s.id, b.lease_seconds FROM services s JOIN b ON s.host = b.host AND s."binary" = b."binary" AND s.lease_owner = b.owner
                    ORDER BY s.id FOR UPDATE OF s SKIP LOCKED),
          renewed AS (UPDATE services s
                         SET last_seen_up = now(), report_count = s.report_count + 1, updated_at = now(),
                             lease_expires_at = now() + make_interval(secs => held.lease_seconds)
                        FROM held WHERE s.id = held.id
                      RETURNING s.lease_owner::text AS lease_owner)
     SELECT lease_owner FROM renewed`,
    [renewals.map((r) => r.host), renewals.map((r) => r.binary), renewals.map((r) => r.owner), renewals.map((r) => r.leaseSeconds)],
  )) as { lease_owner: string }[];
  return new Set(rows.map((r) => r.lease_owner));
}
