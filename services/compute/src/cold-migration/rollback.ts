// A move that failed before the destination took the instance: the source copy is the good one, so it runs again here,
// the record ends in error with the reason, the destination's claim is freed and the destination drops what it received.
import { advanceMigration, recordInstanceFault, releaseClaim, updateInstanceIf } from '@ferry/common/db';
import { POWER_STATES } from '@ferry/common/domain';
import type { RequestContext } from '@ferry/common/rpc';
import type { ComputeContext } from '../compute-context';
import { loadMove, shouldRun } from './move-record';

export async function rollBackToSource(c: ComputeContext, ctx: RequestContext, migrationId: number, err: Error): Promise<void> {
  const move = await loadMove(c.ds, migrationId);
  if (!move) return;
  const { migration, instance, data } = move;
  c.log.warn({ migration_id: migrationId, instance_uuid: migration.instance_uuid, err: err.message }, 'move failed before the hand-over; rolling back to the source');
  let power: number = POWER_STATES.SHUTDOWN;
  if (instance && shouldRun(data)) {
    try {
      await c.driver.powerOn(instance.uuid);
      power = POWER_STATES.RUNNING;
    } catch (powerErr) {
      c.log.error({ instance_uuid: instance.uuid, err: (powerErr as Error).message }, 'cannot power the source copy back on; power sync will report it');
    }
  }
  const failed = await advanceMigration(c.ds, migrationId, ['pre-migrating', 'migrating'], 'error', 'source', { last_error: err.message.slice(0, 2000) });
  if (!failed) return;
  if (instance) {
    await recordInstanceFault(c.ds, { instance_uuid: instance.uuid, code: 500, message: `Move to ${migration.dest_compute} failed: ${err.message}`, details: err.stack ?? null, host: c.host });
    await updateInstanceIf(c.ds, instance.uuid, { task_states: ['resize_prep', 'resize_migrating'], host: c.host }, {
      task_state: null, power_state: power as typeof POWER_STATES.RUNNING, old_flavor: null, new_flavor: null, progress: 0,
    });
  }
  if (migration.dest_compute) {
    await releaseClaim(c.ds, migration.instance_uuid, migration.dest_compute);
    await c.computeRpc.cleanupIncoming(ctx, migration.dest_compute, migrationId).catch((castErr: unknown) =>
      c.log.error({ migration_id: migrationId, err: (castErr as Error).message }, 'cannot ask the destination to drop the partial copy'));
  }
}
