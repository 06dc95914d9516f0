// The servers resource: create, list, show, update, delete, and the action endpoint.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RoutesPlugin } from '../../api-deps';
import { jsonBytes } from '../../http/json-bytes';
import { runServerAction } from './actions';
import { createServer } from './create';
import { deleteServer } from './delete';
import { ListingTurns } from './listing-turns';
import { listServers, showServer } from './read';
import { serverRpc } from './rpc';
import { updateServer } from './update';

type ServerRequest = FastifyRequest<{ Params: { server_id: string } }>;

export { SERVER_ACTIONS, type ServerAction, type ActionEnv, type ActionResult } from './actions';
export { findVisibleInstance } from './lookup';

export const serverRoutes: RoutesPlugin = async (app, { deps }) => {
  const rpc = serverRpc(deps);
  app.post('/servers', (req, reply) => createServer(deps, rpc, req, reply));
  // A listing is read, built and encoded in its turn: its memory peaks within it.
  const turns = new ListingTurns(deps.config.apiListConcurrency);
  const list = (detail: boolean) => async (req: FastifyRequest, reply: FastifyReply) =>
    (await turns.take(reply, async () => jsonBytes(reply, await listServers(deps, req, detail)))) ?? reply.hijack();
  app.get('/servers', list(false));
  app.get('/servers/detail', list(true));
  app.get('/servers/:server_id', (req: ServerRequest) => showServer(deps, req));
  app.put('/servers/:server_id', (req: ServerRequest) => updateServer(deps, req));
  app.delete('/servers/:server_id', (req: ServerRequest, reply) => deleteServer(deps, rpc, req, reply));
  app.post('/servers/:server_id/action', (req: ServerRequest, reply) => runServerAction({ deps, rpc, req }, req, reply));
};
