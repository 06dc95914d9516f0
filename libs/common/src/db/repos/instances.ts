// The instances table as the scheduler and computes use it: reads, and state writes that are compare-and-sets.
import { IsNull, type DataSource } from 'typeorm';
import { InvalidTransition, isPowerState, isTaskState, isVmState, type PowerState, type TaskState, type VmState } from '../../domain';
import { Instance, type InstanceFlavor } from '../entities';
import type { Db } from '../db-handle';
import { RowUpdate, SqlParams } from '../cas/row-update';

/** What the row must look like for a state write to apply. */
export interface InstanceExpectation {
  /** task_state must be one of these (null matches no task). */
  task_states: readonly (TaskState | null)[];
  /** vm_state must be one of these (any when omitted). */
  vm_states?: readonly VmState[];
  /** host must be exactly this (null: no host), or one of a list; any when omitted. */
  host?: string | null | readonly (string | null)[];
  /** power_state must be this; any when omitted. */
  power_state?: PowerState;
}

/** The state columns a service writes; timestamps are set on the database clock. */
export interface InstanceStatePatch {
  vm_state?: VmState;
  task_state?: TaskState | null;
  power_state?: PowerState;
  host?: string | null;
  node?: string | null;
  /** Sets launched_at = now(). */
  launched?: true;
  /** Soft-deletes the row: deleted_at = now(). */
  deleted?: true;
  /** The flavor the instance runs with, and during a move the flavors before and after it. */
  flavor?: InstanceFlavor;
  old_flavor?: InstanceFlavor | null;
  new_flavor?: InstanceFlavor | null;
  progress?: number;
  /** While rescued: the image the rescue boots, and the vm_state unrescue returns to. */
  rescue_image_ref?: string | null;
  pre_rescue_vm_state?: string | null;
  rescued_at?: Date | null;
}

/** The instance, deleted or not; undefined when there is no such row. */
export async function getInstance(ds: DataSource, uuid: string): Promise<Instance | undefined> {
  return (await ds.getRepository(Instance).findOne({ where: { uuid }, withDeleted: true })) ?? undefined;
}

/** How the database stands to one instance a host holds something of; see instanceStandings. */
export interface InstanceStanding {
  uuid: string;
  host: string | null;
  vm_state: string;
  task_state: string | null;
  deleted: boolean;
  /** Seconds since the instance or any of its moves last changed (on the database clock). */
  quiet_seconds: number;
}

/**
 * For each uuid that has a row (deleted or not): its host, states, whether it is deleted and how long it has been
 * quiet. With `andLive`, every instance that is not deleted is included as well.
 */
export async function instanceStandings(ds: DataSource, uuids: readonly string[], opts: { andLive?: boolean } = {}): Promise<InstanceStanding[]> {
  if (uuids.length === 0 && !opts.andLive) return [];
  const rows: (Omit<InstanceStanding, 'quiet_seconds'> & { quiet_seconds: string | number })[] = await ds.query(
    `SELECT i.uuid, i.host, i.vm_state, i.task_state, i.deleted_at IS NOT NULL AS deleted,
            EXTRACT(EPOCH FROM now() - GREATEST(i.updated_at, COALESCE((SELECT max(m.updated_at) FROM migrations m WHERE m.instance_uuid = i.uuid), i.updated_at))) AS quiet_seconds
       FROM instances i WHERE i.uuid = ANY($1::uuid[]) OR ($2::boolean AND i.deleted_at IS NULL)
      ORDER BY i.uuid`,
    [[...uuids], opts.andLive === true],
  );
  return rows.map((r) => ({ ...r, quiet_seconds: Number(r.quiet_seconds) }));
}

/** Live (not deleted) instances the database places on host. */
export async function listInstancesOnHost(ds: DataSource, host: string): Promise<Instance[]> {
  return ds.getRepository(Instance).find({ where: { host, deleted_at: IsNull() }, order: { created_at: 'ASC', uuid: 'ASC' } });
}

/**
 * Applies patch to instance `uuid` if it is not deleted and matches `expected`, in one statement;
 * returns true when this call made the change. Unknown state values throw InvalidTransition before the
 * database is touched.
 */
export async function updateInstanceIf(ds: Db, uuid: string, expected: InstanceExpectation, patch: InstanceStatePatch): Promise<boolean> {
  return instanceUpdateIf(ds, new SqlParams(), uuid, expected, patch).run();
}

/** updateInstanceIf's update, checked and built but not run: to run with other row updates as one statement. */
export function instanceUpdateIf(ds: Db, params: SqlParams, uuid: string, expected: InstanceExpectation, patch: InstanceStatePatch): RowUpdate<Instance> {
  checkStates(uuid, expected, patch);
  const { launched, deleted, ...columns } = patch;
  const update = new RowUpdate(ds, Instance, params).set(columns).setNow('updated_at');
  if (launched) update.setNow('launched_at');
  if (deleted) update.setNow('deleted_at');
  update.whereEquals('uuid', uuid).whereNull('deleted_at').whereIn('task_state', expected.task_states);
  if (expected.vm_states) update.whereIn('vm_state', expected.vm_states);
  if (expected.host !== undefined) {
    update.whereIn('host', expected.host === null || typeof expected.host === 'string' ? [expected.host] : expected.host);
  }
  if (expected.power_state !== undefined) update.whereEquals('power_state', expected.power_state);
  return update;
}

function checkStates(uuid: string, expected: InstanceExpectation, patch: InstanceStatePatch): void {
  if (expected.task_states.length === 0) throw new InvalidTransition(`instance ${uuid}: a state write needs at least one expected task_state`, { instance_uuid: uuid });
  if (expected.vm_states?.length === 0) throw new InvalidTransition(`instance ${uuid}: empty list of expected vm_states`, { instance_uuid: uuid });
  const bad = (what: string, value: unknown) => new InvalidTransition(`instance ${uuid}: unknown ${what} ${JSON.stringify(value)}`, { instance_uuid: uuid, [what]: value });
  for (const s of [...expected.task_states, ...(patch.task_state !== undefined ? [patch.task_state] : [])]) {
    if (s !== null && !isTaskState(s)) throw bad('task_state', s);
  }
  for (const s of [...(expected.vm_states ?? []), ...(patch.vm_state !== undefined ? [patch.vm_state] : [])]) {
    if (!isVmState(s)) throw bad('vm_state', s);
  }
  for (const p of [expected.power_state, patch.power_state]) {
    if (p !== undefined && !isPowerState(p)) throw bad('power_state', p);
  }
}
