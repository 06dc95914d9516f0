// POST /servers/{id}/action: exactly one action key per body, dispatched through the table below.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BadRequest, NotFound } from '@ferry/common/domain';
import { versionIn } from '../../../http/microversion';
import { findVisibleInstance } from '../lookup';
import { isUuid } from '@ferry/common/domain';
import { validateBody } from '../validate';
import { EVACUATE_ACTIONS } from './evacuate';
import { ferryCleanup } from './ferry-cleanup';
import { LIVE_MIGRATE_ACTIONS } from './live-migrate';
import { MOVE_ACTIONS } from './moves';
import { POWER_ACTIONS } from './power';
import { RESCUE_ACTIONS } from './rescue';
import { resetState } from './reset-state';
import { RESIZE_END_ACTIONS } from './resize-confirm';
import type { ActionEnv, ServerAction } from './types';

export type { ActionEnv, ActionResult, ServerAction } from './types';

/** Every action Ferry serves, by body key. Further actions (live migration, rescue …) join this table. */
export const SERVER_ACTIONS: ReadonlyMap<string, ServerAction> = new Map(
  [...POWER_ACTIONS, resetState, ...MOVE_ACTIONS, ...RESIZE_END_ACTIONS, ...LIVE_MIGRATE_ACTIONS, ...RESCUE_ACTIONS, ...EVACUATE_ACTIONS, ferryCleanup].map((a) => [a.name, a]),
);

/** The action a body asks for, or Nova's 400s for a body that names none, several or an unknown one. */
function actionOf(body: unknown, actions: ReadonlyMap<string, ServerAction>): ServerAction {
  if (body === null || typeof body !== 'object' || Array.isArray(body) || Object.keys(body).length !== 1) {
    throw new BadRequest('Malformed request body');
  }
  const name = Object.keys(body)[0]!;
  const action = actions.get(name);
  if (!action) throw new BadRequest(`There is no such action: ${name}`);
  return action;
}

export async function runServerAction(
  env: ActionEnv, req: FastifyRequest<{ Params: { server_id: string } }>, reply: FastifyReply, actions = SERVER_ACTIONS,
) {
  const action = actionOf(req.body, actions);
  if (action.since && !versionIn(req.apiVersion, action.since)) throw new NotFound('The resource could not be found.');
  const body = validateBody<Record<string, unknown>>(req, action.schema, req.body);
  const id = req.params.server_id;
  const result = action.runOnId && req.ctx.is_admin && isUuid(id)
    ? await action.runOnId(env, id.toLowerCase(), body)
    : await action.run(env, await findVisibleInstance(env.deps.db.dataSource, req.ctx, id), body);
  return result.body === undefined ? reply.code(result.status).send() : reply.code(result.status).send(result.body);
}
