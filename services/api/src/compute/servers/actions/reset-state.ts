// os-resetState (admin): force vm_state to active or error and clear whatever task the instance was stuck in.
import { Type } from '@sinclair/typebox';
import type { DataSource } from 'typeorm';
import { advanceInstanceTask, advanceMigration, finishAction, getInstance, listAllocations, openMigrationOf, releaseClaim, startAction } from '@ferry/common/db';
import { ALL_TASK_STATES, InstanceNotFound, VM_STATES } from '@ferry/common/domain';
import { requireAdmin } from '../../../http/policy';
import type { ServerAction } from './types';

const ResetStateBody = Type.Object({
  'os-resetState': Type.Object({ state: Type.Union([Type.Literal('active'), Type.Literal('error')]) }, { additionalProperties: false }),
}, { additionalProperties: false });

/** Every task_state, and none: a reset wins whatever the instance is doing. */
const ANY_TASK: readonly (string | null)[] = Object.freeze([null, ...ALL_TASK_STATES]);

export const resetState: ServerAction = {
  name: 'os-resetState',
  schema: ResetStateBody,
  async run(env, instance, body) {
    requireAdmin(env.req.ctx, 'os_compute_api:os-admin-actions:reset_state');
    const ds = env.deps.db.dataSource;
    const state = (body['os-resetState'] as { state: 'active' | 'error' }).state === 'active' ? VM_STATES.ACTIVE : VM_STATES.ERROR;
    await startAction(ds, env.req.ctx, instance.uuid, 'resetState');
    if (!(await advanceInstanceTask(ds, instance.uuid, ANY_TASK, null, { vm_state: state }))) throw InstanceNotFound.forId(instance.uuid);
    await closeAbandonedMove(ds, instance.uuid);
    await finishAction(ds, env.req.ctx, instance.uuid);
    return { status: 202 };
  },
};

/**
 * The move the reset abandons ends `error` and frees its claims on hosts other than the instance's, so the instance
 * can be moved again. Guest copies on the other host are left where they are (nothing proves which copy is the one).
 * A done evacuation is not abandoned: it stays, so that its source destroys its stale copy when it returns.
 */
async function closeAbandonedMove(ds: DataSource, uuid: string): Promise<void> {
  const move = await openMigrationOf(ds, uuid);
  // A done evacuation is over for the instance; it stays for its returning source to fence the stale copy.
  if (!move || (move.migration_type === 'evacuation' && move.status === 'done')) return;
  if (!(await advanceMigration(ds, move.id, [move.status], 'error', 'api', { last_error: 'abandoned by os-resetState' }))) return;
  const host = (await getInstance(ds, uuid))?.host ?? null;
  for (const a of await listAllocations(ds, { consumer_uuid: uuid })) {
    if (a.host !== host) await releaseClaim(ds, uuid, a.host);
  }
}
