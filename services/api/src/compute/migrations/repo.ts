// Reads the migrations table for os-migrations: Nova's filters, hidden records never shown, and keyset
// paging newest first (created_at, id) from a marker uuid.
import type { DataSource } from 'typeorm';
import { BadRequest } from '@ferry/common/domain';
import { Migration } from '@ferry/common/db';
import { canonicalUuid, isUuidLike } from '../common/request-params';
import type { MigrationQuery } from './query';

function markerNotFound(marker: string): BadRequest {
  return new BadRequest(`Marker ${marker} could not be found.`);
}

export async function findMigrations(ds: DataSource, q: MigrationQuery): Promise<Migration[]> {
  if (q.hidden === true) return [];
  if (q.instance_uuid !== undefined && !isUuidLike(q.instance_uuid)) return [];
  if (q.page?.limit === 0) return [];
  const qb = ds.getRepository(Migration).createQueryBuilder('m').where('m.hidden = false');
  // `host` matches either end and replaces source_compute, as in Nova.
  if (q.host !== undefined) qb.andWhere('(m.source_compute = :host OR m.dest_compute = :host)', { host: q.host });
  else if (q.source_compute !== undefined) qb.andWhere('m.source_compute = :source', { source: q.source_compute });
  if (q.instance_uuid !== undefined) qb.andWhere('m.instance_uuid = :instance', { instance: canonicalUuid(q.instance_uuid) });
  if (q.status !== undefined) qb.andWhere('m.status = :status', { status: q.status });
  if (q.migration_type !== undefined) qb.andWhere('m.migration_type = :type', { type: q.migration_type });
  if (q.user_id !== undefined) qb.andWhere('m.user_id = :user', { user: q.user_id });
  if (q.project_id !== undefined) qb.andWhere('m.project_id = :project', { project: q.project_id });
  if (q.changesSince) qb.andWhere('m.updated_at >= CAST(:since AS timestamptz)', { since: q.changesSince.iso });
  if (q.changesBefore) qb.andWhere('m.updated_at <= CAST(:before AS timestamptz)', { before: q.changesBefore.iso });
  if (!q.page) return qb.orderBy('m.id', 'ASC').getMany();

  const { marker, limit } = q.page;
  if (marker !== undefined) {
    if (!isUuidLike(marker)) throw markerNotFound(marker);
    const found = await ds.getRepository(Migration).exists({ where: { uuid: canonicalUuid(marker) } });
    if (!found) throw markerNotFound(marker);
    qb.andWhere('(m.created_at, m.id) < (SELECT mk.created_at, mk.id FROM migrations mk WHERE mk.uuid = :marker)', { marker: canonicalUuid(marker) });
  }
  return qb.orderBy('m.created_at', 'DESC').addOrderBy('m.id', 'DESC').limit(limit).getMany();
}
