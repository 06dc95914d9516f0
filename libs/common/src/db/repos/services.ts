// The services table: heartbeats (on the database clock) and the listing status commands read.
import type { DataSource } from 'typeorm';
import { Service } from '../entities';

export interface HeartbeatReport {
  host: string;
  binary: string;
  topic: string;
  version: string;
}

/** Upserts the (host, binary) row: last_seen_up = now() on the database clock, report_count + 1. */
export async function recordHeartbeat(ds: DataSource, report: HeartbeatReport): Promise<void> {
  await ds.query(
    `INSERT INTO services (host, "binary", topic, version, last_seen_up, report_count)
     VALUES ($1, $2, $3, $4, now(), 1)
     ON CONFLICT (host, "binary") DO UPDATE
       SET last_seen_up = now(), report_count = services.report_count + 1,
           topic = EXCLUDED.topic, version = EXCLUDED.version, updated_at = now()`,
    [report.host, report.binary, report.topic, report.version],
  );
}

export async function listServices(ds: DataSource): Promise<Service[]> {
  return ds.getRepository(Service).find({ order: { host: 'ASC', binary: 'ASC' } });
}

/** Whether an admin forced the (host, binary) service down (os-services force_down). */
/** Of hosts, those whose `binary` service an admin forced down (one statement for many hosts). */
export async function forcedDownHosts(ds: DataSource, binary: string, hosts: readonly string[]): Promise<Set<string>> {
  const rows: { host: string }[] = await ds.query(`SELECT host FROM services WHERE "binary" = $1 AND host = ANY($2) AND forced_down`, [binary, hosts]);
  return new Set(rows.map((r) => r.host));
}

export async function isForcedDown(ds: DataSource, key: { host: string; binary: string }): Promise<boolean> {
  const rows: { forced_down: boolean }[] = await ds.query(`SELECT forced_down FROM services WHERE host = $1 AND "binary" = $2`, [key.host, key.binary]);
  return rows[0]?.forced_down === true;
}
