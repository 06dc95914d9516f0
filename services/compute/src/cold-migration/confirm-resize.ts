// confirm_resize on the source: the move is kept, so the source copy goes, its claim is freed, and the instance settles.
import { advanceMigration, releaseClaim, updateInstanceIf, withActionEvent } from '@ferry/common/db';
import { POWER_STATES, VM_STATES } from '@ferry/common/domain';
import type { RequestContext } from '@ferry/common/rpc';
import type { ComputeContext } from '../compute-context';
import { instanceNotification } from '../notifications';
import { runExclusive } from './exclusive';
import { loadMove } from './move-record';

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
      await c.driver.destroy(uuid);
      await releaseClaim(c.ds, uuid, c.host);
      await advanceMigration(c.ds, migration.id, ['confirming'], 'confirmed');
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
    await withActionEvent(c.ds, ctx, uuid, CONFIRM_RESIZE_EVENT, c.host, () => instanceNotification(c, 'instance.resize_confirm', instance, run));
    c.log.info({ migration_id: migration.id, instance_uuid: uuid }, 'move confirmed; source copy destroyed and its claim freed');
  });
}
