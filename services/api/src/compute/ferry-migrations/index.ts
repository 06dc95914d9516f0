// GET /os-ferry-migrations[/{id}] (Ferry's extension, admin only): moves as `ferry migration` shows them — Nova's
// fields (as os-migrations at 2.80) plus what an operator watching one needs: memory and disk counters, when each
// phase started and ended, the last error, a live migration's policy with where each value came from.
// `in_progress=true` keeps the moves under way.
import type { DataSource } from 'typeorm';
import { Migration } from '@ferry/common/db';
import { inFlightStatuses, MigrationNotFound } from '@ferry/common/domain';
import type { RoutesPlugin } from '../../api-deps';
import { MAX_VERSION } from '../../http/microversion';
import { requireAdmin } from '../../http/policy';
import { canonicalUuid, isUuidLike, lastValue, parseLooseBool, type Query } from '../common/request-params';
import { readMigrationQuery } from '../migrations/query';
import { findMigrations } from '../migrations/repo';
import { migrationView } from '../migrations/views';

const POLICY = 'os_compute_api:os-ferry-migrations';
/** Nova's fields as os-migrations shows them at the newest microversion. */
const NOVA_VIEW = MAX_VERSION;

export const ferryMigrationRoutes: RoutesPlugin = async (app, { deps }) => {
  const view = (m: Migration) => ({
    ...migrationView(m, NOVA_VIEW, deps.publicUrl()),
    memory_total: m.memory_total, memory_processed: m.memory_processed, memory_remaining: m.memory_remaining,
    disk_total: m.disk_total, disk_processed: m.disk_processed, disk_remaining: m.disk_remaining,
    phase_timings: m.phase_timings, last_error: m.last_error, steer_request: m.steer_request, migration_policy: m.migration_policy,
    in_progress: inFlightStatuses(m.migration_type).includes(m.status as never),
  });

  app.get('/os-ferry-migrations', async (req) => {
    const query = req.query as Query;
    const inProgress = lastValue(query, 'in_progress');
    const { in_progress: _ignored, ...filters } = query;
    const q = readMigrationQuery(filters, NOVA_VIEW);
    requireAdmin(req.ctx, POLICY);
    const views = (await findMigrations(deps.db.dataSource, q)).map(view);
    return { migrations: inProgress !== undefined && parseLooseBool(inProgress) ? views.filter((v) => v.in_progress) : views };
  });

  app.get('/os-ferry-migrations/:id', async (req) => {
    requireAdmin(req.ctx, POLICY);
    const { id } = req.params as { id: string };
    const m = await findOne(deps.db.dataSource, id);
    if (!m) throw MigrationNotFound.forId(id);
    return { migration: view(m) };
  });
};

/** A visible migration by its integer id or its uuid. */
async function findOne(ds: DataSource, id: string): Promise<Migration | null> {
  const repo = ds.getRepository(Migration);
  if (/^\d{1,9}$/.test(id)) return repo.findOne({ where: { id: Number(id), hidden: false } });
  if (isUuidLike(id)) return repo.findOne({ where: { uuid: canonicalUuid(id), hidden: false } });
  return null;
}
