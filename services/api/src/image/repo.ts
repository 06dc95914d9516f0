// The images table for the Image API: what a caller may see (admins everything; others public and
// community images and their project's own), Glance's list filters, and keyset paging from a marker id.
import type { DataSource } from 'typeorm';
import { BadRequest, ImageNotFound, isUuid } from '@ferry/common/domain';
import type { Image } from '@ferry/common/db';
import type { ApiContext } from '../http/api-context';
import type { ImageListQuery, ImageSortKey } from './list-query';

const HIDDEN = `(i.properties ->> 'os_hidden') ~* '^(true|1|yes|on)$'`;

class SqlParams {
  readonly values: unknown[] = [];
  add(v: unknown): string {
    return `$${this.values.push(v)}`;
  }
}

/** Images the caller may see at all (show, marker lookup); never deleted ones. */
function visibleTo(ctx: ApiContext, p: SqlParams): string[] {
  if (ctx.is_admin) return ['i.deleted_at IS NULL'];
  return ['i.deleted_at IS NULL', `(i.visibility IN ('public', 'community') OR i.owner = ${p.add(ctx.project_id)})`];
}

/** Sort keys as SQL that is never NULL, so keyset comparisons stay total. */
function sortExpr(key: ImageSortKey): string {
  switch (key) {
    case 'size': return 'COALESCE(i.size, -1)';
    case 'virtual_size': return 'COALESCE(i.virtual_size, -1)';
    case 'owner': return "COALESCE(i.owner, '')";
    case 'id': return 'i.id::text';
    default: return `i.${key}`;
  }
}

function toImage(row: Image & { size: string | number | null; virtual_size: string | number | null }): Image {
  return { ...row, size: row.size == null ? null : Number(row.size), virtual_size: row.virtual_size == null ? null : Number(row.virtual_size) };
}

export async function getImage(ds: DataSource, ctx: ApiContext, id: string): Promise<Image> {
  if (!isUuid(id)) throw new ImageNotFound(`No image found with ID ${id}`);
  const p = new SqlParams();
  const where = [...visibleTo(ctx, p), `i.id = ${p.add(id)}`];
  const [row] = await ds.query(`SELECT i.* FROM images i WHERE ${where.join(' AND ')}`, p.values);
  if (!row) throw new ImageNotFound(`No image found with ID ${id}`);
  return toImage(row);
}

function filters(ctx: ApiContext, q: ImageListQuery, p: SqlParams): string[] {
  const where = visibleTo(ctx, p);
  // Without a visibility filter, community images show only to their owner (Glance's default list).
  if (q.visibility === undefined) where.push(`(i.visibility <> 'community' OR i.owner = ${p.add(ctx.project_id)})`);
  else if (q.visibility !== 'all') where.push(`i.visibility = ${p.add(q.visibility)}`);
  for (const [col, value] of Object.entries(q.exact)) {
    where.push(col === 'id' ? `i.id::text = ${p.add(value.toLowerCase())}` : `i.${col} = ${p.add(value)}`);
  }
  if (q.protected !== undefined) where.push(`i.protected = ${p.add(q.protected)}`);
  where.push(`COALESCE(${HIDDEN}, false) = ${p.add(q.hidden)}`);
  if (q.sizeMin !== undefined) where.push(`i.size >= ${p.add(q.sizeMin)}`);
  if (q.sizeMax !== undefined) where.push(`i.size <= ${p.add(q.sizeMax)}`);
  // Ferry keeps no image tags: a tag filter matches nothing.
  if (q.tags.length) where.push('false');
  for (const [key, value] of Object.entries(q.properties)) where.push(`i.properties ->> ${p.add(key)} = ${p.add(value)}`);
  return where;
}

/** Rows strictly after the marker in the sort order: (k1 after m1) OR (k1 = m1 AND k2 after m2) OR … */
function afterMarker(q: ImageListQuery, markerParam: string): string {
  const m = (key: ImageSortKey) => `(SELECT ${sortExpr(key).replace(/\bi\./g, 'mk.')} FROM images mk WHERE mk.id = ${markerParam})`;
  const branches = q.sort.map((s, i) => {
    const equal = q.sort.slice(0, i).map((prev) => `${sortExpr(prev.key)} = ${m(prev.key)}`);
    return [...equal, `${sortExpr(s.key)} ${s.dir === 'asc' ? '>' : '<'} ${m(s.key)}`].join(' AND ');
  });
  return `((${branches.join(') OR (')}))`;
}

export async function listImages(ds: DataSource, ctx: ApiContext, q: ImageListQuery): Promise<Image[]> {
  if (q.limit === 0) return [];
  if (q.marker !== undefined) {
    const found = isUuid(q.marker) && (await getImage(ds, ctx, q.marker).then(() => true, () => false));
    if (!found) throw new BadRequest(`Invalid marker. Image ${q.marker} could not be found.`);
  }
  const p = new SqlParams();
  const where = filters(ctx, q, p);
  if (q.marker !== undefined) where.push(afterMarker(q, p.add(q.marker)));
  const order = q.sort.map((s) => `${sortExpr(s.key)} ${s.dir.toUpperCase()}`).join(', ');
  const rows = await ds.query(`SELECT i.* FROM images i WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT ${p.add(q.limit)}`, p.values);
  return rows.map(toImage);
}
