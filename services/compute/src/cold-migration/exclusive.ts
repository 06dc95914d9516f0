// One runner per migration step in a process: a redelivered message or a recovery pass never runs a step twice at once.
import type { ComputeContext } from '../compute-context';

/** Runs fn unless this process already runs a step of the migration; returns false when it skipped. */
export async function runExclusive(c: ComputeContext, migrationId: number, fn: () => Promise<void>): Promise<boolean> {
  if (c.activeMoves.has(migrationId)) {
    c.log.info({ migration_id: migrationId }, 'a step of this migration is already running here; message ignored');
    return false;
  }
  c.activeMoves.add(migrationId);
  try {
    await fn();
    return true;
  } finally {
    c.activeMoves.delete(migrationId);
  }
}
