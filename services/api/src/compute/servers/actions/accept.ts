// Accepting a server action: check its preconditions, win its task_state by CAS (so of two racing requests
// exactly one proceeds), open its instance action, cast. A cast the bus refuses puts everything back.
import type { DataSource } from 'typeorm';
import { advanceInstanceTask, failAction, takeTaskWithAction, type Instance } from '@ferry/common/db';
import { Conflict, InstanceInvalidState } from '@ferry/common/domain';
import type { RequestContext } from '@ferry/common/rpc';
import type { ApiContext } from '../../../http/api-context';
import { reloadInstance } from '../lookup';
import { rpcContext } from '../rpc';
import type { StateRule, TaskRule } from './rules';
import { crashPoint } from '@ferry/common/chaos';

export function instanceLocked(uuid: string): Conflict {
  return new Conflict(`Instance ${uuid} is locked`, { instance_id: uuid });
}

function notReady(uuid: string): Conflict {
  return new Conflict(`Instance ${uuid} is not ready`, { instance_id: uuid });
}

/** Throws the 409 Nova answers when the instance cannot take this action now. */
export function checkPreconditions(ctx: ApiContext, instance: Instance, rule: StateRule): void {
  if (instance.locked && !ctx.is_admin) throw instanceLocked(instance.uuid);
  if (rule.hostFirst && !instance.host) throw notReady(instance.uuid);
  if (!(rule.vmStates as readonly string[]).includes(instance.vm_state)) {
    throw InstanceInvalidState.forAction(instance.uuid, rule.action, 'vm_state', instance.vm_state);
  }
  if (!(rule.fromTasks as readonly (string | null)[]).includes(instance.task_state)) {
    throw InstanceInvalidState.forAction(instance.uuid, rule.action, 'task_state', instance.task_state);
  }
  if (!instance.launched_at) throw new InstanceInvalidState(`Cannot '${rule.action}' instance ${instance.uuid} while it is in launched_at None`);
  if (!instance.host) throw notReady(instance.uuid);
}

/** The 409 for a request that lost the CAS to another one (or a 404 if the instance went away). */
export async function lostRace(ds: DataSource, uuid: string, action: string): Promise<Error> {
  const now = await reloadInstance(ds, uuid);
  return InstanceInvalidState.forAction(uuid, action, 'task_state', now.task_state);
}

/** Marks the action a request opened as failed (its work never started: a refused cast). */
export function markActionFailed(ds: DataSource, ctx: ApiContext, uuid: string): Promise<void> {
  return failAction(ds, ctx, uuid);
}

/** Columns an accepted task writes in the same CAS as its task_state, and what they go back to if the cast fails. */
export interface TaskPatch {
  set?: Partial<Instance>;
  undo?: Partial<Instance>;
  /** system_metadata entries the request carries (null removes one), written with the task for a re-drive to read. */
  remember?: Readonly<Record<string, string | null>>;
}

/**
 * Runs rule on instance: preconditions, CAS (with `patch.set`) and instance action in one statement, then `cast` to the
 * instance's host. If the cast fails, the task_state (and `patch.undo`) goes back and the error propagates.
 */
export async function acceptTask(
  ds: DataSource, ctx: ApiContext, instance: Instance, rule: TaskRule,
  cast: (rpcCtx: RequestContext, host: string) => Promise<void>, patch?: TaskPatch,
): Promise<void> {
  checkPreconditions(ctx, instance, rule);
  const task = { uuid: instance.uuid, from: rule.fromTasks, to: rule.to, patch: patch?.set, remember: patch?.remember };
  if (!(await takeTaskWithAction(ds, task, ctx, rule.instanceAction))) throw await lostRace(ds, instance.uuid, rule.action);
  try {
    crashPoint('api.accept.before_cast');
    await cast(rpcContext(ctx), instance.host!);
  } catch (err) {
    await advanceInstanceTask(ds, instance.uuid, [rule.to], instance.task_state, patch?.undo);
    await markActionFailed(ds, ctx, instance.uuid).catch(() => undefined);
    throw err;
  }
}
