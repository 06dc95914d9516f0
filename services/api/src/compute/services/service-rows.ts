// The services table as the admin APIs read it: each row with its uuid, zone and up/down state (one rule: serviceState).
import { createHash } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { COMPUTE_BINARY, serviceState } from '@ferry/common/service';

/** The binary of a compute service; only those may be disabled, enabled or forced down (as in Nova). */
export { COMPUTE_BINARY };
/** Zone of every service that is not a compute service (Nova's internal_service_availability_zone). */
export const INTERNAL_ZONE = 'internal';
/** Zone of a compute host whose node names none (Nova's default_availability_zone). */
export const DEFAULT_ZONE = 'nova';

export interface ServiceRow {
  id: number;
  uuid: string;
  host: string;
  binary: string;
  topic: string;
  disabled: boolean;
  disabled_reason: string | null;
  forced_down: boolean;
  last_seen_up: Date | null;
  updated_at: Date;
  zone: string;
  state: 'up' | 'down';
}

interface RawService {
  id: number;
  uuid: string | null;
  host: string;
  binary: string;
  topic: string;
  disabled: boolean;
  disabled_reason: string | null;
  forced_down: boolean;
  last_seen_up: Date | null;
  updated_at: Date;
  node_zone: string | null;
  db_now: Date;
}

// to_jsonb(s) ->> 'uuid' reads services.uuid, which a later schema migration may add, without failing on a
// schema that does not have it yet (until then the id is a stable derived uuid).
const SELECT_SERVICES = `
  SELECT s.id, to_jsonb(s) ->> 'uuid' AS uuid, s.host, s."binary", s.topic, s.disabled, s.disabled_reason,
         s.forced_down, s.last_seen_up, s.updated_at, cn.availability_zone AS node_zone, now() AS db_now
    FROM services s
    LEFT JOIN compute_nodes cn ON cn.host = s.host AND s."binary" = '${COMPUTE_BINARY}'`;

/** Every service, oldest first, judged up or down on the database clock (heartbeats are written on it). */
export async function loadServices(ds: DataSource, downSeconds: number, where = '', params: unknown[] = []): Promise<ServiceRow[]> {
  const rows: RawService[] = await ds.query(`${SELECT_SERVICES} ${where} ORDER BY s.id`, params);
  return rows.map((r) => toServiceRow(r, downSeconds));
}

/** The services on the given hosts with the given binary (e.g. the compute service of each hypervisor). */
export async function loadServicesByHost(ds: DataSource, downSeconds: number, binary: string, hosts: string[]): Promise<Map<string, ServiceRow>> {
  if (hosts.length === 0) return new Map();
  const rows = await loadServices(ds, downSeconds, `WHERE s."binary" = $1 AND s.host = ANY($2)`, [binary, hosts]);
  return new Map(rows.map((r) => [r.host, r]));
}

/** Finds a service by the id the request's microversion uses: the integer id, or (2.53) the uuid. */
export async function findService(ds: DataSource, downSeconds: number, id: number | string): Promise<ServiceRow | undefined> {
  const rows = await loadServices(ds, downSeconds);
  return rows.find((r) => (typeof id === 'number' ? r.id === id : r.uuid === id));
}

function toServiceRow(r: RawService, downSeconds: number): ServiceRow {
  const { state } = serviceState(
    { host: r.host, binary: r.binary, topic: r.topic, disabled: r.disabled, forced_down: r.forced_down, last_seen_up: r.last_seen_up },
    new Date(r.db_now), downSeconds,
  );
  return {
    id: r.id, uuid: r.uuid ?? derivedServiceUuid(r), host: r.host, binary: r.binary, topic: r.topic, disabled: r.disabled,
    disabled_reason: r.disabled_reason, forced_down: r.forced_down, last_seen_up: r.last_seen_up, updated_at: r.updated_at,
    zone: r.binary === COMPUTE_BINARY ? r.node_zone || DEFAULT_ZONE : INTERNAL_ZONE, state,
  };
}

/** Namespace of service uuids derived from their rows (a fixed random uuid). */
const SERVICE_UUID_NAMESPACE = Buffer.from('5b0f2f4c9e2a4c55a8b2f0c1d3e4a6b7', 'hex');

/**
 * A stable uuid (RFC 4122 version 5) for a service row while the services table has no uuid column:
 * the row id is part of the name, so a service deleted and registered again gets a new one, as in Nova.
 */
export function derivedServiceUuid(r: { id: number; host: string; binary: string }): string {
  const hash = createHash('sha1').update(SERVICE_UUID_NAMESPACE).update(`${r.id}/${r.host}/${r.binary}`).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
