// cleanup_incoming on the destination: drop the disk (and any VM) a failed move left here, and the claim it held.
import { openMigrationOf, releaseClaim } from '@ferry/common/db';
import type { RequestContext } from '@ferry/common/rpc';
import type { ComputeContext } from '../compute-context';
import { loadMove } from './move-record';

/** Failed moves only, and never while the database names this host as the instance's: then this copy is the live one. */
export async function cleanupIncoming(c: ComputeContext, _ctx: RequestContext, migrationId: number): Promise<void> {
  const move = await loadMove(c.ds, migrationId);
  if (!move || move.migration.dest_compute !== c.host) return;
  const { migration, instance } = move;
  if (!['error', 'failed'].includes(migration.status) || instance?.host === c.host) {
    c.log.info({ migration_id: migrationId, status: migration.status, host: instance?.host }, 'incoming copy still needed; cleanup ignored');
    return;
  }
  const later = await openMigrationOf(c.ds, migration.instance_uuid);
  if (later && (later.source_compute === c.host || later.dest_compute === c.host)) {
    c.log.info({ migration_id: migrationId, later_migration_id: later.id }, 'a later move involves this host; stale cleanup ignored');
    return;
  }
  await c.driver.destroy(migration.instance_uuid);
  await releaseClaim(c.ds, migration.instance_uuid, c.host);
  c.log.info({ migration_id: migrationId, instance_uuid: migration.instance_uuid }, 'incoming copy of a failed move removed');
}
