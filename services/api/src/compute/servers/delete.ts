// DELETE /servers/{id}: win task_state `deleting`, then let the host's compute terminate the instance, or,
// when no compute will (never scheduled, or its host is down), free its claims and mark it deleted here.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { advanceInstanceTask, finishAction, retakeStaleTask, startAction, type Migration } from '@ferry/common/db';
import { ALL_TASK_STATES, Conflict, TASK_STATES, type TaskState } from '@ferry/common/domain';
import type { ApiDeps } from '../../api-deps';
import { computeServiceStates } from './host-status';
import { deleteLocally } from './local-delete';
import { findVisibleInstance, reloadInstance } from './lookup';
import { rpcContext, type ServerRpc } from './rpc';

/**
 * As in Nova, a delete interrupts any task: a build, a power action, a move (the computes stop it and remove every
 * copy). Every later write of the interrupted task is a compare-and-set on its own task state, so it fails once the
 * task is `deleting`: the instance's host is frozen from here on.
 */
export const DELETABLE_TASK_STATES: readonly (TaskState | null)[] = Object.freeze([null, ...ALL_TASK_STATES.filter((t) => t !== TASK_STATES.DELETING)]);

/**
 * Wins the right to drive the delete: from any other task, or from a delete nobody has advanced for a while (its
 * message lost, its compute restarted). A repeat of a delete in progress is a conflict, so of many identical
 * requests exactly one is performed.
 */
async function winDelete(deps: ApiDeps, uuid: string): Promise<boolean> {
  const ds = deps.db.dataSource;
  return (await advanceInstanceTask(ds, uuid, DELETABLE_TASK_STATES, TASK_STATES.DELETING, { progress: 0 }))
    || retakeStaleTask(ds, uuid, TASK_STATES.DELETING, deps.config.deleteRetrySeconds);
}

export async function deleteServer(deps: ApiDeps, rpc: ServerRpc, req: FastifyRequest<{ Params: { server_id: string } }>, reply: FastifyReply) {
  const ds = deps.db.dataSource;
  const instance = await findVisibleInstance(ds, req.ctx, req.params.server_id);
  if (instance.locked && !req.ctx.is_admin) throw new Conflict(`Instance ${instance.uuid} is locked`, { instance_id: instance.uuid });
  if (!(await winDelete(deps, instance.uuid))) {
    // A row deleted meanwhile is answered as a server already gone.
    await findVisibleInstance(ds, req.ctx, instance.uuid);
    throw new Conflict(`Instance ${instance.uuid} is already being deleted`, { instance_id: instance.uuid });
  }
  await startAction(ds, req.ctx, instance.uuid, 'delete');
  // Read the host after winning: a build that placed the instance, or a move that handed it over, has written it by now.
  const current = await reloadInstance(ds, instance.uuid);
  const up = current.host ? (await computeServiceStates(ds, [current.host], deps.config.serviceDownSeconds)).get(current.host)?.up : false;
  if (current.host && up) {
    try {
      // The host stops any move of the instance and asks the move's other host to drop its copy.
      await rpc.compute.terminateInstance(rpcContext(req.ctx), current.host, current.uuid);
    } catch (err) {
      // A settled instance goes back to how it was; one that was busy stays `deleting` for a retry to finish.
      if (instance.task_state === null) await advanceInstanceTask(ds, current.uuid, [TASK_STATES.DELETING], null);
      throw err;
    }
  } else {
    const move = await deleteLocally(ds, current.uuid);
    await nudgeOtherHost(rpc, req, move, current.host);
    await finishAction(ds, req.ctx, current.uuid);
  }
  return reply.code(204).send();
}

/**
 * The other host of a move whose owner is down still holds a copy and maybe a claim: it drops them when the message
 * reaches it (its queue keeps the message while it is down).
 */
async function nudgeOtherHost(rpc: ServerRpc, req: FastifyRequest, move: Migration | undefined, owner: string | null): Promise<void> {
  const other = [move?.source_compute, move?.dest_compute].find((h): h is string => Boolean(h) && h !== owner);
  if (!other) return;
  const uuid = move!.instance_uuid;
  await rpc.compute.terminateInstance(rpcContext(req.ctx), other, uuid).catch((err: unknown) =>
    req.log.warn({ instance_uuid: uuid, host: other, err: (err as Error).message }, 'cannot ask the other host of the move to drop its copy; it drops it when its recovery sees the move'));
}
