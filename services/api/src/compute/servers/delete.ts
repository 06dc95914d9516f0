// DELETE /servers/{id}: win task_state `deleting`, then let the host's compute terminate the instance, or,
// when no compute will (never scheduled, or its host is down), free its claims and mark it deleted here.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { advanceInstanceTask, finishAction, startAction } from '@ferry/common/db';
import { Conflict, InstanceInvalidState, TASK_STATES, type TaskState } from '@ferry/common/domain';
import type { ApiDeps } from '../../api-deps';
import { computeServiceStates } from './host-status';
import { deleteLocally } from './local-delete';
import { findVisibleInstance, reloadInstance } from './lookup';
import { rpcContext, type ServerRpc } from './rpc';

/**
 * Tasks a delete may interrupt: none, a build in progress (the builder's next CAS fails and it cleans up),
 * and an earlier delete (repeating a delete resumes it). Any other task is a 409.
 */
export const DELETABLE_TASK_STATES: readonly (TaskState | null)[] = Object.freeze([
  null, TASK_STATES.SCHEDULING, TASK_STATES.BLOCK_DEVICE_MAPPING, TASK_STATES.NETWORKING, TASK_STATES.SPAWNING, TASK_STATES.DELETING,
]);

export async function deleteServer(deps: ApiDeps, rpc: ServerRpc, req: FastifyRequest<{ Params: { server_id: string } }>, reply: FastifyReply) {
  const ds = deps.db.dataSource;
  const instance = await findVisibleInstance(ds, req.ctx, req.params.server_id);
  if (instance.locked && !req.ctx.is_admin) throw new Conflict(`Instance ${instance.uuid} is locked`, { instance_id: instance.uuid });
  const deletable = DELETABLE_TASK_STATES as readonly (string | null)[];
  if (!deletable.includes(instance.task_state)) throw InstanceInvalidState.forAction(instance.uuid, 'delete', 'task_state', instance.task_state);
  if (!(await advanceInstanceTask(ds, instance.uuid, deletable, TASK_STATES.DELETING, { progress: 0 }))) {
    const now = await reloadInstance(ds, instance.uuid);
    throw InstanceInvalidState.forAction(instance.uuid, 'delete', 'task_state', now.task_state);
  }
  await startAction(ds, req.ctx, instance.uuid, 'delete');
  // Read the host after winning: a build that placed the instance meanwhile has written it by now.
  const current = await reloadInstance(ds, instance.uuid);
  const up = current.host ? (await computeServiceStates(ds, [current.host], deps.config.serviceDownSeconds)).get(current.host)?.up : false;
  if (current.host && up) {
    try {
      await rpc.compute.terminateInstance(rpcContext(req.ctx), current.host, current.uuid);
    } catch (err) {
      // A settled instance goes back to how it was; one that was building stays `deleting` for a retry to finish.
      if (instance.task_state === null) await advanceInstanceTask(ds, current.uuid, [TASK_STATES.DELETING], null);
      throw err;
    }
  } else {
    await deleteLocally(ds, current.uuid);
    await finishAction(ds, req.ctx, current.uuid);
  }
  return reply.code(204).send();
}
