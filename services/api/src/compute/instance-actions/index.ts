// GET /servers/{id}/os-instance-actions[/{request_id}]: a server's action log (`openstack server event list`).
import type { FastifyRequest } from 'fastify';
import { getActionWithEvents, listActions, type InstanceAction } from '@ferry/common/db';
import { BadRequest, NotFound } from '@ferry/common/domain';
import type { RoutesPlugin } from '../../api-deps';
import { versionIn, type ApiVersion } from '../../http/microversion';
import { COMPUTE_PREFIX } from '../../http/versioning';
import { nextLinks, pageRequest, single, type PageRequest } from '../common/paging';
import { parseIsoTime, type Query } from '../servers/filters';
import { findVisibleInstance } from '../servers/lookup';
import { actionView, eventView, eventVisibility } from './views';

type ListRequest = FastifyRequest<{ Params: { server_id: string }; Querystring: Query }>;
type ShowRequest = FastifyRequest<{ Params: { server_id: string; request_id: string } }>;

interface ActionQuery {
  page?: PageRequest;
  since?: Date;
  before?: Date;
}

/** From 2.58 the list pages and filters, and refuses parameters it does not know; before, it ignores them. */
function parseQuery(query: Query, v: ApiVersion): ActionQuery {
  if (!versionIn(v, '2.58')) return {};
  const known = ['limit', 'marker', 'changes-since', ...(versionIn(v, '2.66') ? ['changes-before'] : [])];
  for (const name of Object.keys(query)) {
    if (!known.includes(name)) throw new BadRequest(`Additional properties are not allowed ('${name}' was unexpected)`);
  }
  const raw = (name: string) => single(query[name], name);
  const since = raw('changes-since') !== undefined ? parseIsoTime('changes-since', raw('changes-since')!) : undefined;
  const before = raw('changes-before') !== undefined ? parseIsoTime('changes-before', raw('changes-before')!) : undefined;
  if (since && before && before < since) throw new BadRequest('The value of changes-since must be less than or equal to changes-before.');
  return { page: pageRequest(query), since, before };
}

/** Newest first; the page after the marker (a request id), among the actions the time filters keep. */
function pageOf(actions: InstanceAction[], q: ActionQuery): InstanceAction[] {
  let rest = actions;
  if (q.page?.marker !== undefined) {
    const at = actions.findIndex((a) => a.request_id === q.page!.marker);
    if (at < 0) throw new BadRequest(`Marker ${q.page.marker} could not be found.`);
    rest = actions.slice(at + 1);
  }
  rest = rest.filter((a) => (!q.since || a.updated_at >= q.since) && (!q.before || a.updated_at <= q.before));
  return q.page ? rest.slice(0, q.page.limit) : rest;
}

export const instanceActionRoutes: RoutesPlugin = async (app, { deps }) => {
  const ds = deps.db.dataSource;
  // From 2.21 the log of a deleted server stays readable.
  const lookup = (req: FastifyRequest<{ Params: { server_id: string } }>) =>
    findVisibleInstance(ds, req.ctx, req.params.server_id, { withDeleted: versionIn(req.apiVersion, '2.21') });

  app.get('/servers/:server_id/os-instance-actions', async (req: ListRequest) => {
    const query = (req.query ?? {}) as Query;
    const q = parseQuery(query, req.apiVersion);
    const instance = await lookup(req);
    const actions = pageOf(await listActions(ds, instance.uuid), q);
    const body: Record<string, unknown> = { instanceActions: actions.map((a) => actionView(a, req.apiVersion)) };
    if (q.page) {
      const path = `${COMPUTE_PREFIX}/servers/${instance.uuid}/os-instance-actions`;
      const links = nextLinks(deps.publicUrl(), path, query, q.page, actions.map((a) => ({ id: a.request_id })));
      if (links) body.links = links;
    }
    return body;
  });

  app.get('/servers/:server_id/os-instance-actions/:request_id', async (req: ShowRequest) => {
    const instance = await lookup(req);
    const found = await getActionWithEvents(ds, instance.uuid, req.params.request_id);
    if (!found) throw new NotFound(`Action ${req.params.request_id} not found`);
    const view = actionView(found.action, req.apiVersion);
    const show = eventVisibility(req.ctx.is_admin, req.apiVersion);
    if (show) view.events = found.events.map((e) => eventView(e, found.action.project_id ?? instance.project_id, show));
    return { instanceAction: view };
  });
};
