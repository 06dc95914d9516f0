// confirm_resize on the source: the move is kept, so the source copy goes, its claim is freed, and the instance settles.
// The source copy goes only when the database names the destination and the destination's driver has the instance.
import { advanceMigration, releaseClaim, updateInstanceIf, withActionEvent } from '@ferry/common/db';
import { POWER_STATES, VM_STATES } from '@ferry/common/domain';
import type { RequestContext } from '@ferry/common/rpc';
import type { ComputeContext } from '../compute-context';
import { isBeingDeleted } from '../instance-ops/stop-move';
import { instanceNotification } from '../notifications';
import { DestroyRefused, missingOtherCopy, refuseToDestroy } from './other-copy';
import { runExclusive } from './exclusive';
import { loadMove } from './move-record';
import { crashPoint } from '@ferry/common/chaos';

export const CONFIRM_RESIZE_EVENT = 'compute_confirm_resize';

export async function confirmResize(c: ComputeContext, ctx: RequestContext, migrationId: number): Promise<void> {
  await runExclusive(c, migrationId, async () => {
    const move = await loadMove(c.ds, migrationId);
    if (!move || move.migration.source_compute !== c.host || move.migration.status !== 'confirming') {
      c.log.info({ migration_id: migrationId, status: move?.migration.status }, 'nothing to confirm on this host; confirm_resize ignored');
      return;
    }
    const { migration, instance } = move;
    const uuid = migration.instance_uuid;
    const run = async () => {
      // A deleted instance loses both copies anyway; any other confirm must prove the destination's first.
      if (instance && !isBeingDeleted(instance)) {
        const dest = migration.dest_compute!;
        const reason = instance.host !== dest
          ? `the database names ${instance.host ?? 'no host'}, not the destination ${dest}`
          : await missingOtherCopy(c, ctx, dest, uuid);
        if (reason) throw await refuseToDestroy(c, migration, { name: 'confirm', status: 'confirming', by: 'source', task_state: null, vm_states: [VM_STATES.RESIZED] }, reason);
      }
      await c.driver.destroy(uuid);
      crashPoint('confirm.source.after_destroy', c.host);
      await releaseClaim(c.ds, uuid, c.host);
      await advanceMigration(c.ds, migration.id, ['confirming'], 'confirmed', 'source');
      if (!instance) return;
      // The power the guest has on the destination decides: a stopped instance was moved stopped and stays so.
      const stopped = instance.power_state === POWER_STATES.SHUTDOWN;
      await updateInstanceIf(c.ds, uuid, { vm_states: [VM_STATES.RESIZED], task_states: [null], host: migration.dest_compute }, {
        vm_state: stopped ? VM_STATES.STOPPED : VM_STATES.ACTIVE, old_flavor: null, new_flavor: null,
      });
    };
    if (!instance) {
      await run();
      return;
    }
    try {
      await withActionEvent(c.ds, ctx, uuid, CONFIRM_RESIZE_EVENT, c.host, () => instanceNotification(c, 'instance.resize_confirm', instance, run));
    } catch (err) {
      if (err instanceof DestroyRefused) return;
      throw err;
    }
    c.log.info({ migration_id: migration.id, instance_uuid: uuid }, 'move confirmed; source copy destroyed and its claim freed');
  });
}
