// os-resetState (admin): force vm_state to active or error and clear whatever task the instance was stuck in.
import { Type } from '@sinclair/typebox';
import type { DataSource } from 'typeorm';
import { advanceMigration, finishAction, getInstance, getMigration, listAllocations, releaseClaim, resetInstanceState } from '@ferry/common/db';
import { InstanceNotFound, VM_STATES } from '@ferry/common/domain';
import { requireAdmin } from '../../../http/policy';
import type { ActionEnv, ActionResult, ServerAction } from './types';

const ResetStateBody = Type.Object({
  'os-resetState': Type.Object({ state: Type.Union([Type.Literal('active'), Type.Literal('error')]) }, { additionalProperties: false }),
}, { additionalProperties: false });

async function reset(env: ActionEnv, uuid: string, body: Record<string, unknown>): Promise<ActionResult> {
  requireAdmin(env.req.ctx, 'os_compute_api:os-admin-actions:reset_state');
  const ds = env.deps.db.dataSource;
  const state = (body['os-resetState'] as { state: 'active' | 'error' }).state === 'active' ? VM_STATES.ACTIVE : VM_STATES.ERROR;
  // A reset wins whatever task the instance is in: state, task and action record are one statement (one commit).
  const outcome = await resetInstanceState(ds, uuid, state, env.req.ctx, 'resetState');
  if (!outcome) throw InstanceNotFound.forId(uuid);
  if (outcome.openMigrationId !== null) {
    await closeAbandonedMove(ds, uuid, outcome.openMigrationId);
    await finishAction(ds, env.req.ctx, uuid);
  }
  return { status: 202 };
}

export const resetState: ServerAction = {
  name: 'os-resetState',
  schema: ResetStateBody,
  run: (env, instance, body) => reset(env, instance.uuid, body),
  runOnId: reset,
};

/**
 * The move the reset abandons ends `error` and frees its claims on hosts other than the instance's, so the instance
 * can be moved again. Guest copies on the other host are left where they are (nothing proves which copy is the one).
 * A done evacuation is not abandoned: it stays, so that its source destroys its stale copy when it returns.
 */
async function closeAbandonedMove(ds: DataSource, uuid: string, migrationId: number): Promise<void> {
  const move = await getMigration(ds, migrationId);
  // A done evacuation is over for the instance; it stays for its returning source to fence the stale copy.
  if (!move || (move.migration_type === 'evacuation' && move.status === 'done')) return;
  if (!(await advanceMigration(ds, move.id, [move.status], 'error', 'api', { last_error: 'abandoned by os-resetState' }))) return;
  const host = (await getInstance(ds, uuid))?.host ?? null;
  for (const a of await listAllocations(ds, { consumer_uuid: uuid })) {
    if (a.host !== host) await releaseClaim(ds, uuid, a.host);
  }
}
