// finish_resize on the destination: define the guest from the database on the copied disk (grown to the new flavor),
// start it unless it was stopped, and wait in VERIFY_RESIZE. If that fails the move rolls back to the source copy.
import {
  advanceMigration, advanceMoveAndInstance, recordInstanceFault, releaseClaim, updateInstanceIf, withActionEvent, type Instance, type InstanceStatePatch,
} from '@ferry/common/db';
import { POWER_STATES, VM_STATES } from '@ferry/common/domain';
import type { RequestContext } from '@ferry/common/rpc';
import { vmSpecOf, type ComputeContext } from '../compute-context';
import { instanceBeingDeleted } from '../instance-ops/stop-move';
import { instanceNotification } from '../notifications';
import { runExclusive } from './exclusive';
import { nowIso, withPhase } from '../phase-timings';
import { loadMove, shouldRun, type MoveState } from './move-record';
import { crashPoint } from '@ferry/common/chaos';

export const FINISH_RESIZE_EVENT = 'compute_finish_resize';

export async function finishResize(c: ComputeContext, ctx: RequestContext, migrationId: number): Promise<void> {
  await runExclusive(c, migrationId, async () => {
    const move = await loadMove(c.ds, migrationId);
    if (!move || move.migration.dest_compute !== c.host || !move.instance) {
      c.log.info({ migration_id: migrationId }, 'no cold move finishing on this host; finish_resize ignored');
      return;
    }
    const { migration, instance } = move;
    const onHere = { host: c.host } as const;
    if (migration.status === 'post-migrating') {
      // resize_migrated: first delivery; resize_finish: this host restarted in the middle of finishing.
      const taken = await updateInstanceIf(c.ds, instance.uuid, { task_states: ['resize_migrated', 'resize_finish'], ...onHere }, { task_state: 'resize_finish' });
      if (!taken) {
        c.log.info({ migration_id: migrationId, task_state: instance.task_state }, 'instance is not waiting to be finished here; ignored');
        return;
      }
      await finish(c, ctx, move);
    } else if (migration.status === 'finished') {
      // The record went first and the instance did not follow (see settleInstance).
      await settleInstance(c, move);
    }
  });
}

async function finish(c: ComputeContext, ctx: RequestContext, move: MoveState): Promise<void> {
  const { migration, data } = move;
  const instance = move.instance!;
  const flavor = instance.new_flavor ?? instance.flavor;
  // A delete that lands after the task was taken here waits for this step; its terminate then removes the guest.
  let stoppedByDelete = false;
  let settled = false;
  try {
    await withActionEvent(c.ds, ctx, instance.uuid, FINISH_RESIZE_EVENT, c.host, () =>
      instanceNotification(c, 'instance.resize_finish', instance, async () => {
        await c.driver.finishIncoming(vmSpecOf(instance, flavor), { powerOn: shouldRun(data) });
        crashPoint('cold.dest.after_spawn', c.host);
        const timings = withPhase(migration.phase_timings, 'guest_started', { at: nowIso(), running: shouldRun(data) });
        // The record finished and the instance in VERIFY_RESIZE, together (as Nova saves both before its end notification).
        const done = await advanceMoveAndInstance(c.ds,
          { migrationId: migration.id, from: ['post-migrating'], to: 'finished', by: 'dest', patch: { phase_timings: timings } },
          { uuid: instance.uuid, expected: { task_states: ['resize_finish'], host: c.host }, patch: settledPatch(move) });
        settled = done.instance;
        if (!done.record) {
          // A delete ended the record: its terminate here waits for this step, then removes the guest just defined.
          if (await instanceBeingDeleted(c, instance.uuid)) {
            stoppedByDelete = true;
            return;
          }
          throw new Error(`migration ${migration.id} changed while finishing`);
        }
      }));
  } catch (err) {
    if (await instanceBeingDeleted(c, instance.uuid)) {
      // Nothing to roll back to for an instance on its way out, and no fault: the terminate removes both copies.
      c.log.info({ migration_id: migration.id, instance_uuid: instance.uuid, err: (err as Error).message }, 'finish stopped: the instance is being deleted');
      return;
    }
    await rollBackFromDestination(c, ctx, move, err as Error);
    return;
  }
  if (stoppedByDelete) {
    c.log.info({ migration_id: migration.id, instance_uuid: instance.uuid }, 'move stopped at its finish: the instance is being deleted');
    return;
  }
  if (settled) c.log.info({ migration_id: migration.id, instance_uuid: instance.uuid }, 'move finished; instance awaits confirm or revert (VERIFY_RESIZE)');
}

/** VERIFY_RESIZE: the instance runs here with its new flavor; both claims stay until confirm or revert. */
function settledPatch(move: MoveState): InstanceStatePatch {
  const instance = move.instance!;
  return {
    vm_state: VM_STATES.RESIZED, task_state: null, flavor: instance.new_flavor ?? instance.flavor,
    power_state: shouldRun(move.data) ? POWER_STATES.RUNNING : POWER_STATES.SHUTDOWN, progress: 100,
  };
}

/** A record finished before its instance was settled (written by an earlier version, one write after the other). */
async function settleInstance(c: ComputeContext, move: MoveState): Promise<void> {
  const instance = move.instance!;
  if (await updateInstanceIf(c.ds, instance.uuid, { task_states: ['resize_finish'], host: c.host }, settledPatch(move))) {
    c.log.info({ migration_id: move.migration.id, instance_uuid: instance.uuid }, 'move finished; instance awaits confirm or revert (VERIFY_RESIZE)');
  }
}

/**
 * The guest would not start here. The source still has its copy (powered off, untouched since pass 2): drop this
 * one, give the instance back to the source with its old flavor, and let the source power it on.
 */
async function rollBackFromDestination(c: ComputeContext, ctx: RequestContext, move: MoveState, err: Error): Promise<void> {
  const { migration } = move;
  const instance: Instance = move.instance!;
  c.log.warn({ migration_id: migration.id, instance_uuid: instance.uuid, err: err.message }, 'cannot finish the move here; rolling back to the source copy');
  await c.driver.destroy(instance.uuid).catch((e: unknown) => c.log.error({ instance_uuid: instance.uuid, err: (e as Error).message }, 'cannot remove the failed destination copy'));
  await advanceMigration(c.ds, migration.id, ['post-migrating'], 'error', 'dest', { last_error: err.message.slice(0, 2000) });
  await recordInstanceFault(c.ds, { instance_uuid: instance.uuid, code: 500, message: `Move to ${c.host} failed: ${err.message}`, details: err.stack ?? null, host: c.host });
  const handedBack = await updateInstanceIf(c.ds, instance.uuid, { task_states: ['resize_finish', 'resize_migrated'], host: c.host }, {
    task_state: 'resize_reverting', host: migration.source_compute, node: migration.source_node, flavor: instance.old_flavor ?? instance.flavor,
    power_state: POWER_STATES.SHUTDOWN,
  });
  if (!handedBack) return;
  await releaseClaim(c.ds, instance.uuid, c.host);
  await c.computeRpc.finishRevertResize(ctx, migration.source_compute!, migration.id).catch((castErr: unknown) =>
    c.log.error({ migration_id: migration.id, err: (castErr as Error).message }, 'cannot ask the source to resume; its recovery will'));
}
