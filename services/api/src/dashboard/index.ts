// The live operator dashboard: a static page at /dashboard/, and for admins its event stream. The page logs in with
// Keystone's password login, shows a ticket request its token (POST …/os-ferry-dashboard/tickets, X-Auth-Token), and
// opens GET …/os-ferry-dashboard/events, which the ticket (an HttpOnly cookie, spent on use) authenticates: EventSource
// cannot send headers, and a ticket in the URL would land in access logs.
import { PassThrough } from 'node:stream';
import { parseCookie, stringifySetCookie } from './cookies';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { NotAuthenticated } from '@ferry/common/domain';
import type { ApiDeps } from '../api-deps';
import { ADMIN_ROLE, requireToken, type TokenValidator } from '../http/auth';
import { requireAdmin } from '../http/policy';
import { COMPUTE_PREFIX } from '../http/versioning';
import { SnapshotFeed } from './feed';
import { dashboardPage } from './page';
import { dashboardSnapshot } from './snapshot';
import { DashboardTickets, TICKET_TTL_MS } from './tickets';

export { DASHBOARD_PATH } from './page';
export type { DashboardSnapshot } from './snapshot';

export const TICKETS_PATH = `${COMPUTE_PREFIX}/os-ferry-dashboard/tickets`;
export const EVENTS_PATH = `${COMPUTE_PREFIX}/os-ferry-dashboard/events`;
export const TICKET_COOKIE = 'ferry_dashboard_ticket';
const POLICY = 'os_compute_api:os-ferry-dashboard';
const KEEPALIVE_MS = 15_000;
/** A browser that lets this much of the stream pile up unread is dropped (it reconnects with a new ticket). */
const MAX_UNREAD_BYTES = 4 * 1024 * 1024;
const UNAUTHENTICATED = 'The dashboard\'s event stream needs a ticket: POST os-ferry-dashboard/tickets with X-Auth-Token first.';

type DashboardPlugin = FastifyPluginAsync<{ deps: ApiDeps; tokens: TokenValidator }>;

export const dashboardRoutes: DashboardPlugin = async (app, { deps, tokens }) => {
  const tickets = new DashboardTickets();
  const feed = new SnapshotFeed({
    read: () => dashboardSnapshot(deps.db.dataSource, deps.config.serviceDownSeconds),
    intervalMs: deps.config.dashboardIntervalMs, heartbeatMs: KEEPALIVE_MS, log: deps.log,
  });
  // The streams never end by themselves: end them, or closing the server would wait for them forever.
  app.addHook('preClose', () => feed.close());

  await app.register(dashboardPage);

  await app.register(async (scope) => {
    requireToken(scope, tokens);
    scope.post(TICKETS_PATH, async (req, reply) => {
      requireAdmin(req.ctx, POLICY);
      // The token requireToken accepted (the first, if the header came twice).
      const token = [req.headers['x-auth-token']].flat()[0]!;
      reply.header('set-cookie', stringifySetCookie({
        name: TICKET_COOKIE, value: tickets.issue(token),
        path: EVENTS_PATH, httpOnly: true, sameSite: 'strict', secure: req.protocol === 'https', maxAge: TICKET_TTL_MS / 1000,
      }));
      return reply.code(201).send({ ticket: { events: EVENTS_PATH, expires_in: TICKET_TTL_MS / 1000 } });
    });
  });

  await app.register(async (scope) => {
    // The token behind the ticket, for the stream to check it is still good while it lasts.
    const tokenOf = new WeakMap<FastifyRequest, string>();
    scope.addHook('onRequest', async (req) => {
      const ticket = parseCookie(req.headers.cookie ?? '')[TICKET_COOKIE];
      const token = ticket ? tickets.redeem(ticket) : undefined;
      const info = token ? await tokens.validate(token) : undefined;
      if (!token || !info) throw new NotAuthenticated(UNAUTHENTICATED);
      requireAdmin({ is_admin: info.roles.includes(ADMIN_ROLE) }, POLICY);
      tokenOf.set(req, token);
    });
    scope.get(EVENTS_PATH, { exposeHeadRoute: false }, async (req, reply) => {
      const token = tokenOf.get(req)!;
      const stream = new PassThrough();
      // Tells the browser how soon to reconnect after a drop (the page then asks for a new ticket).
      stream.write('retry: 3000\n\n');
      const unsubscribe = feed.subscribe({
        write: (frame) => {
          if (stream.writableLength > MAX_UNREAD_BYTES) unsubscribe();
          else stream.write(frame);
        },
        end: () => stream.end(),
      }, async () => isAdminToken(tokens, token));
      reply.raw.on('close', unsubscribe);
      // The ticket is spent: the browser may forget it.
      reply.header('set-cookie', stringifySetCookie({ name: TICKET_COOKIE, value: '', path: EVENTS_PATH, httpOnly: true, sameSite: 'strict', maxAge: 0 }));
      return reply.header('cache-control', 'no-store').header('x-accel-buffering', 'no').type('text/event-stream; charset=utf-8').send(stream);
    });
  });
};

async function isAdminToken(tokens: TokenValidator, token: string): Promise<boolean> {
  const info = await tokens.validate(token);
  return !!info && info.roles.includes(ADMIN_ROLE) && info.expires_at.getTime() > Date.now();
}
