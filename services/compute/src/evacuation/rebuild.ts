// rebuild_instance on the evacuation's destination: take the record (pre-migrating), rebuild the guest here (from the
// image, or from the same disk when this host shares the source's storage), move host, node and claims here, done.
import {
  advanceMigration, ComputeNode, getInstance, getMigration, recordInstanceFault, releaseClaim, updateInstanceIf, withActionEvent,
  type Instance, type Migration,
} from '@ferry/common/db';
import { POWER_STATES, VM_STATES, type EvacuationRequestData } from '@ferry/common/domain';
import { instanceActionPayload } from '@ferry/common/notify';
import type { RequestContext } from '@ferry/common/rpc';
import { crashPoint } from '@ferry/common/chaos';
import { vmSpecOf, type ComputeContext } from '../compute-context';
import { VmNotFound } from '../drivers';

/** Nova's compute event for the rebuild an evacuation is. */
export const REBUILD_EVENT = 'compute_rebuild_instance';

/** What the destination adds to the record's migrate_data when it takes the evacuation. */
export interface EvacuationDecisions {
  /** The source's instance storage is this host's: the guest is rebuilt on its own disk, which the source must never remove. */
  shared_storage?: boolean;
}

export type EvacuationData = EvacuationRequestData & EvacuationDecisions;

const EVACUATING_TASKS = ['rebuilding', 'rebuild_spawning'] as const;

export async function rebuildInstance(c: ComputeContext, ctx: RequestContext, migrationId: number): Promise<void> {
  if (c.activeMoves.has(migrationId)) return;
  c.activeMoves.add(migrationId);
  try {
    const m = await takeEvacuation(c, migrationId);
    if (m) await rebuildTaken(c, ctx, m);
  } finally {
    c.activeMoves.delete(migrationId);
  }
}

/** The record, once this host holds it in pre-migrating (taken now, or by an earlier run here); else undefined. */
async function takeEvacuation(c: ComputeContext, migrationId: number): Promise<Migration | undefined> {
  const m = await getMigration(c.ds, migrationId);
  if (!m || m.migration_type !== 'evacuation') return undefined;
  if (m.status === 'accepted') {
    const shared = await sharesStorage(c, m.source_compute);
    const data = { ...(m.migrate_data ?? {}), shared_storage: shared };
    if (await advanceMigration(c.ds, m.id, ['accepted'], 'pre-migrating', 'dest', { dest_compute: c.host, dest_node: c.node, migrate_data: data })) {
      return getMigration(c.ds, m.id);
    }
    return takeEvacuation(c, migrationId);
  }
  if (m.status === 'pre-migrating' && m.dest_compute === c.host) return m;
  c.log.info({ migration_id: m.id, status: m.status, dest: m.dest_compute }, 'evacuation not for this host or already over; ignored');
  return undefined;
}

async function sharesStorage(c: ComputeContext, source: string | null): Promise<boolean> {
  if (!source) return false;
  const nodes = await c.ds.getRepository(ComputeNode).findBy([{ host: source }, { host: c.host }]);
  const mine = nodes.find((n) => n.host === c.host)?.storage_id;
  return mine !== undefined && nodes.find((n) => n.host === source)?.storage_id === mine;
}

async function rebuildTaken(c: ComputeContext, ctx: RequestContext, m: Migration): Promise<void> {
  const source = m.source_compute!;
  const instance = await getInstance(c.ds, m.instance_uuid);
  if (!instance || instance.deleted_at || instance.task_state === 'deleting') {
    await dropEvacuation(c, m, 'instance deleted during the evacuation');
    return;
  }
  // An earlier run here moved the instance and died before the record said so.
  if (instance.host === c.host && !EVACUATING_TASKS.includes(instance.task_state as never)) {
    await finishRecord(c, m, source);
    return;
  }
  if (instance.host !== source || !EVACUATING_TASKS.includes(instance.task_state as never)) {
    await advanceMigration(c.ds, m.id, ['pre-migrating'], 'error', 'dest', { last_error: `instance changed during the evacuation (host ${instance.host}, task ${instance.task_state})` });
    await releaseClaim(c.ds, instance.uuid, c.host);
    return;
  }
  crashPoint('evacuate.dest.after_take', c.host);
  // Taken again by a re-driven run, or changed meanwhile (a reset, a delete): only the first goes on to build.
  if (!(await updateInstanceIf(c.ds, instance.uuid, { task_states: [...EVACUATING_TASKS], host: source }, { task_state: 'rebuild_spawning' }))) {
    await advanceMigration(c.ds, m.id, ['pre-migrating'], 'error', 'dest', { last_error: 'instance changed before the rebuild started' });
    await releaseClaim(c.ds, instance.uuid, c.host);
    return;
  }
  const data = m.migrate_data as unknown as EvacuationData;
  try {
    await withActionEvent(c.ds, ctx, instance.uuid, REBUILD_EVENT, c.host, async () => {
      await c.notifier.info('instance.evacuate', () => instanceActionPayload(instance));
      await rebuildGuest(c, instance, data);
    });
  } catch (err) {
    await failEvacuation(c, m, instance, err as Error);
    return;
  }
  crashPoint('evacuate.dest.after_spawn', c.host);
  const moved = await updateInstanceIf(
    c.ds, instance.uuid, { task_states: [...EVACUATING_TASKS], host: source },
    { host: c.host, node: c.node, task_state: null, ...finalState(data.old_vm_state) },
  );
  if (!moved) {
    const now = await getInstance(c.ds, instance.uuid);
    if (!now || now.deleted_at || now.task_state === 'deleting') {
      await dropEvacuation(c, m, 'instance deleted during the evacuation');
      return;
    }
    if (now.host !== c.host) {
      // Reset or cleaned up while the guest was rebuilt here: the database does not name this copy, so it must not run.
      // It is stopped, not destroyed (on shared storage its disk is the instance's), and left to an operator's cleanup.
      await stopHere(c, instance.uuid);
      await advanceMigration(c.ds, m.id, ['pre-migrating'], 'error', 'dest', { last_error: `instance changed during the rebuild (host ${now.host}, task ${now.task_state}); the rebuilt copy on ${c.host} is stopped` });
      await releaseClaim(c.ds, instance.uuid, c.host);
      c.log.warn({ migration_id: m.id, instance_uuid: instance.uuid, host: now.host, task_state: now.task_state }, 'instance changed during the rebuild; the copy rebuilt here is stopped');
      return;
    }
  }
  await finishRecord(c, m, source);
}

/** A stopped instance stays stopped; an active or errored one runs (Nova's evacuate). */
function finalState(oldVmState: string) {
  return oldVmState === VM_STATES.STOPPED
    ? { vm_state: VM_STATES.STOPPED, power_state: POWER_STATES.SHUTDOWN }
    : { vm_state: VM_STATES.ACTIVE, power_state: POWER_STATES.RUNNING };
}

async function rebuildGuest(c: ComputeContext, instance: Instance, data: EvacuationData): Promise<void> {
  const spec = vmSpecOf(instance);
  // On shared storage the disk is already here: the guest is defined again from the database on it.
  if (data.shared_storage) await c.driver.unrescue(spec);
  else await c.driver.spawn(spec);
  if (data.old_vm_state === VM_STATES.STOPPED) await c.driver.powerOff(instance.uuid);
}

/** The source's claim goes (the instance left it), the record says done; the source completes it when it returns. */
async function finishRecord(c: ComputeContext, m: Migration, source: string): Promise<void> {
  await releaseClaim(c.ds, m.instance_uuid, source);
  if (await advanceMigration(c.ds, m.id, ['pre-migrating'], 'done', 'dest')) {
    c.log.info({ migration_id: m.id, instance_uuid: m.instance_uuid, source }, 'instance evacuated here');
  }
}

/** Nothing of the instance is left here; the record fails and the instance keeps its host (the dead source). */
async function dropEvacuation(c: ComputeContext, m: Migration, reason: string): Promise<void> {
  const data = m.migrate_data as unknown as EvacuationData | null;
  if (!data?.shared_storage) await c.driver.destroy(m.instance_uuid);
  else await stopHere(c, m.instance_uuid);
  await releaseClaim(c.ds, m.instance_uuid, c.host);
  await advanceMigration(c.ds, m.id, ['pre-migrating'], 'failed', 'dest', { last_error: reason });
  c.log.info({ migration_id: m.id, instance_uuid: m.instance_uuid, reason }, 'evacuation dropped');
}

/**
 * The rebuild failed: what it made here is removed, the claim here freed, the record failed, and the instance in
 * ERROR with a fault on its old host, where the operator can evacuate it again.
 */
async function failEvacuation(c: ComputeContext, m: Migration, instance: Instance, err: Error): Promise<void> {
  c.log.warn({ migration_id: m.id, instance_uuid: instance.uuid, err: err.message }, 'evacuation failed');
  const data = m.migrate_data as unknown as EvacuationData;
  // On shared storage the disk is the instance's own: the guest this host may have started on it is stopped, not destroyed.
  if (!data.shared_storage) await c.driver.destroy(instance.uuid).catch(() => undefined);
  else await stopHere(c, instance.uuid);
  await releaseClaim(c.ds, instance.uuid, c.host);
  await recordInstanceFault(c.ds, { instance_uuid: instance.uuid, code: 500, message: err.message.slice(0, 255), details: err.stack ?? null, host: c.host });
  await updateInstanceIf(c.ds, instance.uuid, { task_states: [...EVACUATING_TASKS], host: m.source_compute }, { vm_state: VM_STATES.ERROR, task_state: null });
  await advanceMigration(c.ds, m.id, ['pre-migrating'], 'failed', 'dest', { last_error: err.message.slice(0, 2000) });
}

/** Stops whatever this host runs of the instance (nothing defined is no error); a failure is logged, never hidden. */
async function stopHere(c: ComputeContext, uuid: string): Promise<void> {
  try {
    await c.driver.powerOff(uuid);
  } catch (err) {
    if (err instanceof VmNotFound) return;
    c.log.error({ instance_uuid: uuid, err: (err as Error).message }, 'cannot stop the copy rebuilt here; it needs an operator');
  }
}
