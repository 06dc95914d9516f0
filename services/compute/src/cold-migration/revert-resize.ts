// Revert: the destination drops its copy and claim and gives the instance back (revert_resize); then the source
// restores the old flavor and powers its untouched copy on if it ran before (finish_revert_resize). The source only
// powers on once the database names it again, which the destination writes after its copy is gone: never two copies.
// The destination drops its copy only when the source's driver still has the copy to go back to.
import { advanceMigration, releaseClaim, updateInstanceIf, withActionEvent } from '@ferry/common/db';
import { POWER_STATES } from '@ferry/common/domain';
import type { RequestContext } from '@ferry/common/rpc';
import type { ComputeContext } from '../compute-context';
import { instanceNotification } from '../notifications';
import { DestroyRefused, missingOtherCopy, refuseToDestroy } from './other-copy';
import { runExclusive } from './exclusive';
import { loadMove, settledVmState, shouldRun, type MoveState } from './move-record';
import { crashPoint } from '@ferry/common/chaos';

export const REVERT_RESIZE_EVENT = 'compute_revert_resize';
export const FINISH_REVERT_RESIZE_EVENT = 'compute_finish_revert_resize';

export async function revertResize(c: ComputeContext, ctx: RequestContext, migrationId: number): Promise<void> {
  await runExclusive(c, migrationId, async () => {
    const move = await loadMove(c.ds, migrationId);
    if (!move?.instance || move.migration.dest_compute !== c.host || move.migration.status !== 'reverting') {
      c.log.info({ migration_id: migrationId, status: move?.migration.status }, 'nothing to revert on this host; revert_resize ignored');
      return;
    }
    const { migration, instance } = move;
    const source = migration.source_compute!;
    if (instance.host === c.host && instance.task_state === 'resize_reverting') {
      const reason = await missingOtherCopy(c, ctx, source, instance.uuid);
      try {
        await withActionEvent(c.ds, ctx, instance.uuid, REVERT_RESIZE_EVENT, c.host, async () => {
          if (reason) throw await refuseToDestroy(c, migration, { name: 'revert', status: 'reverting', by: 'dest', task_state: 'resize_reverting' }, reason);
          await c.driver.destroy(instance.uuid);
          crashPoint('revert.dest.after_drop', c.host);
          await releaseClaim(c.ds, instance.uuid, c.host);
          await updateInstanceIf(c.ds, instance.uuid, { task_states: ['resize_reverting'], host: c.host }, {
            host: source, node: migration.source_node, flavor: instance.old_flavor ?? instance.flavor, power_state: POWER_STATES.SHUTDOWN,
          });
        });
      } catch (err) {
        if (err instanceof DestroyRefused) return;
        throw err;
      }
      c.log.info({ migration_id: migration.id, instance_uuid: instance.uuid, source }, 'destination copy dropped; source resumes the instance');
    }
    // Also on a repeated message once the instance is back on the source: the nudge is harmless there.
    await c.computeRpc.finishRevertResize(ctx, source, migration.id).catch((err: unknown) =>
      c.log.error({ migration_id: migration.id, err: (err as Error).message }, 'cannot cast finish_revert_resize; recovery will retry'));
  });
}

/** On the source, for a revert (migration reverting) or a destination that could not finish (migration error). */
export async function finishRevertResize(c: ComputeContext, ctx: RequestContext, migrationId: number): Promise<void> {
  await runExclusive(c, migrationId, async () => {
    const move = await loadMove(c.ds, migrationId);
    if (!move?.instance || move.migration.source_compute !== c.host) return;
    const { instance } = move;
    if (instance.host !== c.host || instance.task_state !== 'resize_reverting') {
      c.log.info({ migration_id: migrationId, host: instance.host, task_state: instance.task_state }, 'instance not handed back to this host; finish_revert_resize ignored');
      return;
    }
    const reverting = move.migration.status === 'reverting';
    const work = () => resumeHere(c, move);
    await withActionEvent(c.ds, ctx, instance.uuid, FINISH_REVERT_RESIZE_EVENT, c.host, () =>
      reverting ? instanceNotification(c, 'instance.resize_revert', instance, work) : work());
  });
}

async function resumeHere(c: ComputeContext, move: MoveState): Promise<void> {
  const { migration, data } = move;
  const instance = move.instance!;
  const run = shouldRun(data);
  if (run) await c.driver.powerOn(instance.uuid);
  crashPoint('revert.source.after_power_on', c.host);
  if (migration.status === 'reverting') await advanceMigration(c.ds, migration.id, ['reverting'], 'reverted', 'source');
  const done = await updateInstanceIf(c.ds, instance.uuid, { task_states: ['resize_reverting'], host: c.host }, {
    vm_state: settledVmState(data), task_state: null, power_state: run ? POWER_STATES.RUNNING : POWER_STATES.SHUTDOWN,
    old_flavor: null, new_flavor: null, progress: 0,
  });
  if (done) c.log.info({ migration_id: migration.id, instance_uuid: instance.uuid }, 'instance runs on its source again with its old flavor');
}
