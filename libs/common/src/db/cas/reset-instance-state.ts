// os-resetState as one statement: the forced state, the request's action record and the open move it abandons.
import type { DataSource } from 'typeorm';
import { allNonTerminalStatuses, type VmState } from '../../domain';
import { queryPrepared } from '../prepared';
import type { ActionRequester } from '../repos/instance-actions';

const OPEN_MOVE_STATUSES = allNonTerminalStatuses();

export interface ResetOutcome {
  /** The open move the reset abandons (the caller ends it), if any; the action stays open until then. */
  openMigrationId: number | null;
}

/**
 * Forces vm_state to `vmState` and clears any task of instance `uuid` (a deleted instance never matches), opening the
 * request's action `action` in the same statement: one round trip and one commit, parsed and planned once per connection. With no open move the action is
 * recorded finished; with one it stays open for the caller to finish once the move is closed. Undefined when no
 * live instance has that uuid.
 */
export async function resetInstanceState(
  ds: DataSource, uuid: string, vmState: VmState, ctx: ActionRequester, action: string,
): Promise<ResetOutcome | undefined> {
  const rows = await queryPrepared<{ open_migration_id: number | null }>(ds, 'ferry_reset_instance_state',
    `WITH reset AS (
       UPDATE instances SET vm_state = $2, task_state = NULL, updated_at = now()
        WHERE uuid = $1 AND deleted_at IS NULL
       RETURNING uuid
     ), open_move AS (
       SELECT (SELECT m.id FROM migrations m
                WHERE m.instance_uuid = r.uuid AND m.status = ANY($7) AND m.deleted_at IS NULL
                ORDER BY m.id DESC LIMIT 1) AS id, r.uuid
         FROM reset r
     ), recorded AS (
       INSERT INTO instance_actions (action, instance_uuid, request_id, user_id, project_id, start_time, finish_time)
       SELECT $3, o.uuid, $4, $5, $6, now(), CASE WHEN o.id IS NULL THEN now() END FROM open_move o
     )
     SELECT id AS open_migration_id FROM open_move`,
    [uuid, vmState, action, ctx.request_id, ctx.user_id ?? null, ctx.project_id ?? null, OPEN_MOVE_STATUSES],
  );
  const row = rows[0];
  return row ? { openMigrationId: row.open_migration_id } : undefined;
}
