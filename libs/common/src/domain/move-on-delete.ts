// What becomes of an unfinished move when its instance is deleted: the status its record ends in, by who writes it.
import { MIGRATION_MACHINES } from './migration-machines';
import { canTransition, isTerminal } from './migration-rules';
import { isColdMove, isMigrationType, type MigrationStatus, type MigrationType, type ServiceRole } from './migration-statuses';

/**
 * Nova's outcomes: a live migration stopped on the way is `cancelled` (as an abort leaves it); a cold move whose step
 * finds its instance deleting errors out (Nova's errors_out_migration). A record not yet placed (`accepted`) has no
 * cancel in its table and errors out as a failed placement would.
 */
const ENDED_BY_DELETE: Readonly<Record<MigrationType, MigrationStatus>> = Object.freeze({
  migration: 'error',
  resize: 'error',
  'live-migration': 'cancelled',
  evacuation: 'error',
});

/**
 * A cold move in VERIFY_RESIZE is confirmed on delete, as Nova does, by the destination (the host the instance names
 * then); a confirm under way finishes by itself. The API (with that host down) or the source end it instead.
 */
function leftToConfirm(status: string, role: ServiceRole): boolean {
  return status === 'confirming' || (status === 'finished' && role === 'dest');
}

/** Message recorded on a record ended this way: the reason, not a failure of the move. */
export const MOVE_ENDED_BY_DELETE_MESSAGE = 'Instance deleted during the move';

/**
 * The status `role` writes to end a `type` record in `status` whose instance is being deleted; undefined when the
 * record is already over, is left to the confirm, or `role` may not end it (the other side then does).
 */
export function statusEndingMoveOnDelete(type: string, status: string, role: ServiceRole): MigrationStatus | undefined {
  if (!isMigrationType(type) || !MIGRATION_MACHINES[type].statuses.includes(status as MigrationStatus) || isTerminal(type, status)) return undefined;
  if (isColdMove(type) && leftToConfirm(status, role)) return undefined;
  const to = status === 'accepted' ? 'error' : ENDED_BY_DELETE[type];
  return canTransition(type, status, to, role) ? to : undefined;
}
