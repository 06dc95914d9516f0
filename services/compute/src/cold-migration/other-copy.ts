// Confirm and revert each destroy one copy of a moved instance: first the host of the copy that stays is asked whether
// it has it. A copy nobody can show to exist elsewhere is never destroyed; the move ends in error, both hosts named.
import { advanceMigration, recordInstanceFault, updateInstanceIf, type Migration } from '@ferry/common/db';
import { VM_STATES, type ServiceRole, type TaskState, type VmState } from '@ferry/common/domain';
import type { RequestContext } from '@ferry/common/rpc';
import type { ComputeContext } from '../compute-context';

/** Why the copy on `keeper` cannot be relied on, or undefined when its driver has it (running, paused or stopped). */
export async function missingOtherCopy(c: ComputeContext, ctx: RequestContext, keeper: string, uuid: string): Promise<string | undefined> {
  try {
    const { presence } = await c.computeRpc.getInstancePresence(ctx, keeper, uuid);
    return presence === 'absent' || presence === 'incoming' ? `${keeper} has no copy of the instance (${presence})` : undefined;
  } catch (err) {
    return `cannot ask ${keeper} whether it has the instance: ${(err as Error).message}`;
  }
}

/** Thrown inside the step's action event, so `server event list` shows the step failed. */
export class DestroyRefused extends Error {}

/**
 * Leaves both copies and both claims, ends the record in error with the reason, and puts the instance in ERROR with a
 * fault naming both hosts, for an operator to decide which copy is the instance.
 */
export async function refuseToDestroy(
  c: ComputeContext, migration: Migration, step: { name: string; status: string; by: ServiceRole; task_state: TaskState | null; vm_states?: VmState[] }, reason: string,
): Promise<DestroyRefused> {
  const uuid = migration.instance_uuid;
  const message = `${step.name} refused: ${reason}; copies, if any, kept on ${migration.source_compute} and ${migration.dest_compute}`;
  c.log.error({ migration_id: migration.id, instance_uuid: uuid, source: migration.source_compute, dest: migration.dest_compute }, message);
  // The record, the fault and the instance change together: no reader sees the move ended while the instance still
  // waits on it, and a crash leaves all three as they were for the step to be retried.
  await c.ds.transaction(async (tx) => {
    await advanceMigration(tx, migration.id, [step.status], 'error', step.by, { last_error: message.slice(0, 2000) });
    await recordInstanceFault(tx, { instance_uuid: uuid, code: 500, message, host: c.host });
    // Only an instance still in the step's own state: one the move already gave back elsewhere keeps running as it is.
    await updateInstanceIf(tx, uuid, { task_states: [step.task_state], ...(step.vm_states ? { vm_states: step.vm_states } : {}) }, {
      vm_state: VM_STATES.ERROR, task_state: null,
    });
  });
  return new DestroyRefused(message);
}
