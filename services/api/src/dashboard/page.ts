// The dashboard's page: plain HTML, one script and one stylesheet, served as files. They hold no data (the script
// fetches it with the operator's token), so they need none; the policy keeps the page to its own scripts and origin.
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';

export const DASHBOARD_PATH = '/dashboard/';
/** services/api/static/dashboard, from src/dashboard or dist/dashboard alike. */
const PAGE_DIR = join(__dirname, '../../static/dashboard');
const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

export const dashboardPage: FastifyPluginAsync = async (app) => {
  await app.register(fastifyStatic, {
    root: PAGE_DIR, prefix: DASHBOARD_PATH, wildcard: false, index: 'index.html', decorateReply: false,
    setHeaders: (reply) => {
      reply.header('content-security-policy', CONTENT_SECURITY_POLICY).header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer').header('cache-control', 'no-cache');
    },
  });
  app.get('/dashboard', async (_req, reply) => reply.redirect(DASHBOARD_PATH));
};
