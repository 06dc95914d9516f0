// The flavors table for the flavor APIs: visibility per caller, Nova's list filters and sort keys with
// keyset paging from a marker flavorid, and the writes (create, delete, description, extra specs).
import type { DataSource } from 'typeorm';
import { BadRequest, Conflict, FlavorNotFound } from '@ferry/common/domain';
import type { NewFlavor } from './fields';
import type { FlavorRow } from './views';

/** Nova's sort keys (vcpu_weight, which Ferry does not keep, sorts like id). */
export const SORT_KEYS = ['created_at', 'description', 'disabled', 'ephemeral_gb', 'flavorid', 'id', 'is_public', 'memory_mb', 'name',
  'root_gb', 'rxtx_factor', 'swap', 'updated_at', 'vcpu_weight', 'vcpus'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

function sortExpression(key: SortKey, alias: string): string {
  if (key === 'vcpu_weight') return `${alias}.id`;
  // Rows without a description sort as an empty one, so keyset comparisons never meet a NULL.
  if (key === 'description') return `COALESCE(${alias}.description, '')`;
  return `${alias}.${key}`;
}

/** Who sees what: admins every flavor; others public, and (in lists) enabled flavors only. */
export interface Visibility {
  /** true: public only; false: private only; null: both. */
  isPublic: boolean | null;
  enabledOnly: boolean;
}

export interface FlavorListQuery extends Visibility {
  /** Whether the caller sees public flavors only (a marker must name one of those). */
  callerPublicOnly: boolean;
  minRam?: number;
  minDisk?: number;
  sortKey: SortKey;
  sortDir: 'asc' | 'desc';
  limit: number;
  marker?: string;
}

function visibilityWhere(vis: Visibility, alias: string): string[] {
  const where: string[] = [];
  if (vis.isPublic !== null) where.push(`${alias}.is_public = ${vis.isPublic ? 'true' : 'false'}`);
  if (vis.enabledOnly) where.push(`${alias}.disabled = false`);
  return where;
}

export async function listFlavors(ds: DataSource, q: FlavorListQuery): Promise<FlavorRow[]> {
  if (q.limit === 0) return [];
  const params: unknown[] = [];
  const param = (v: unknown) => `$${params.push(v)}`;
  const where = visibilityWhere(q, 'f');
  if (q.minRam !== undefined) where.push(`f.memory_mb >= ${param(q.minRam)}`);
  if (q.minDisk !== undefined) where.push(`f.root_gb >= ${param(q.minDisk)}`);
  const order = sortExpression(q.sortKey, 'f');
  if (q.marker !== undefined) {
    // Nova looks the marker up among the flavors the caller may see, whatever the list's filters say.
    const marker = await findFlavorRow(ds, q.marker, q.callerPublicOnly);
    if (!marker) throw new BadRequest(`marker [${q.marker}] not found`);
    const op = q.sortDir === 'asc' ? '>' : '<';
    where.push(`(${order}, f.id) ${op} (SELECT ${sortExpression(q.sortKey, 'mk')}, mk.id FROM flavors mk WHERE mk.id = ${param(marker.id)})`);
  }
  const dir = q.sortDir === 'asc' ? 'ASC' : 'DESC';
  return ds.query(
    `SELECT f.* FROM flavors f ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} ${dir}, f.id ${dir} LIMIT ${param(q.limit)}`,
    params,
  );
}

async function findFlavorRow(ds: DataSource, flavorid: string, publicOnly: boolean): Promise<FlavorRow | undefined> {
  const where = ['f.flavorid = $1', ...(publicOnly ? ['f.is_public = true'] : [])];
  const [row]: FlavorRow[] = await ds.query(`SELECT f.* FROM flavors f WHERE ${where.join(' AND ')}`, [flavorid]);
  return row;
}

/** The flavor with this flavorid that the caller may see, or a 404. */
export async function getFlavor(ds: DataSource, flavorid: string, publicOnly: boolean): Promise<FlavorRow> {
  const row = await findFlavorRow(ds, flavorid, publicOnly);
  if (!row) throw FlavorNotFound.forId(flavorid);
  return row;
}

/** Inserts a flavor; a taken name or id is a 409 in Nova's words. */
export async function createFlavor(ds: DataSource, f: NewFlavor): Promise<FlavorRow> {
  const cols = Object.keys(f) as (keyof NewFlavor)[];
  try {
    const [row]: FlavorRow[] = await ds.query(
      `INSERT INTO flavors (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`,
      cols.map((c) => f[c]),
    );
    return row!;
  } catch (err) {
    const pgErr = (err as { driverError?: { code?: string; constraint?: string } }).driverError;
    if (pgErr?.code === '23505' && pgErr.constraint === 'flavors_name_key') throw new Conflict(`Flavor with name ${f.name} already exists.`);
    if (pgErr?.code === '23505' && pgErr.constraint === 'flavors_flavorid_key') throw new Conflict(`Flavor with ID ${f.flavorid} already exists.`);
    throw err;
  }
}

export async function deleteFlavor(ds: DataSource, flavorid: string): Promise<void> {
  const [, count]: [unknown[], number] = await ds.query('DELETE FROM flavors WHERE flavorid = $1', [flavorid]);
  if (count === 0) throw FlavorNotFound.forId(flavorid);
}

export async function setDescription(ds: DataSource, flavorid: string, description: string | null): Promise<FlavorRow> {
  const [rows]: [FlavorRow[], number] = await ds.query(
    'UPDATE flavors SET description = $2, updated_at = now() WHERE flavorid = $1 RETURNING *', [flavorid, description],
  );
  if (!rows[0]) throw FlavorNotFound.forId(flavorid);
  return rows[0];
}

/** Merges specs into the flavor's extra specs in one statement (no read-modify-write race). */
export async function mergeExtraSpecs(ds: DataSource, flavorid: string, specs: Record<string, string>): Promise<void> {
  const [rows]: [unknown[], number] = await ds.query(
    'UPDATE flavors SET extra_specs = extra_specs || $2::jsonb, updated_at = now() WHERE flavorid = $1 RETURNING id',
    [flavorid, JSON.stringify(specs)],
  );
  if (rows.length === 0) throw FlavorNotFound.forId(flavorid);
}

/** Removes one extra spec; false when the flavor has no such key. */
export async function deleteExtraSpec(ds: DataSource, flavorid: string, key: string): Promise<boolean> {
  const [rows]: [unknown[], number] = await ds.query(
    'UPDATE flavors SET extra_specs = extra_specs - $2, updated_at = now() WHERE flavorid = $1 AND extra_specs ? $2 RETURNING id',
    [flavorid, key],
  );
  return rows.length > 0;
}
