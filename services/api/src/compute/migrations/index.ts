// GET /os-migrations: every move across all projects, with Nova's filters and (2.59+) paging. Admin only.
import type { RoutesPlugin } from '../../api-deps';
import { requireAdmin } from '../../http/policy';
import { nextLinks } from '../common/paging';
import type { Query } from '../common/request-params';
import { readMigrationQuery } from './query';
import { findMigrations } from './repo';
import { migrationView } from './views';

export const migrationRoutes: RoutesPlugin = async (app, { deps }) => {
  app.get('/os-migrations', async (req) => {
    const query = req.query as Query;
    const q = readMigrationQuery(query, req.apiVersion);
    requireAdmin(req.ctx, 'os_compute_api:os-migrations:index');
    const rows = await findMigrations(deps.db.dataSource, q);
    const body: Record<string, unknown> = { migrations: rows.map((m) => migrationView(m, req.apiVersion, deps.publicUrl())) };
    if (q.page) {
      const links = nextLinks(deps.publicUrl(), '/compute/v2.1/os-migrations', query, q.page, rows.map((m) => ({ id: m.uuid })));
      if (links) body.migrations_links = links;
    }
    return body;
  });
};
