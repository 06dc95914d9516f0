// GET /metrics on the API's own port: like every API request it needs a token, and an admin's (the figures span every
// project). Prometheus, which cannot renew a token, scrapes the metrics listener instead (FERRY_METRICS_PORT).
import { METRICS_CONTENT_TYPE, METRICS_PATH } from '@ferry/common/metrics';
import type { RoutesPlugin } from '../api-deps';
import { requireAdmin } from '../http/policy';
import { scrapeApiMetrics } from './scrape';

const POLICY = 'ferry:metrics';

export const metricsRoutes: RoutesPlugin = async (app, { deps }) => {
  app.get(METRICS_PATH, async (req, reply) => {
    requireAdmin(req.ctx, POLICY);
    const text = await scrapeApiMetrics(deps.db.dataSource);
    return reply.type(METRICS_CONTENT_TYPE).send(text);
  });
};
