// What a cold move keeps in its migration record beyond Nova's columns, and the small reads every step starts with.
import { getMigrationAndInstance, type Instance, type Migration } from '@ferry/common/db';
import { VM_STATES } from '@ferry/common/domain';
import { contextFromWire, type RequestContext } from '@ferry/common/rpc';
import type { ByteRange } from '../transfer';

/** migrate_data of a cold move: what recovery needs to resume it from the database alone. */
export interface ColdMoveData {
  /** vm_state before the move: a stopped instance stays stopped on the destination and after a revert. */
  old_vm_state: string;
  /** Where the destination wants the disk (from its driver's prepareIncoming). */
  dest_disk_path: string;
  /** The request that started the move: steps resumed after a restart record their events on its action. */
  request_context: RequestContext;
  /** Set once pass 1 (the copy while the guest ran) completed. */
  pass1_done?: boolean;
  /** The regions the guest wrote during pass 1, saved after power-off so a restart can still copy only those. */
  pass2_ranges?: ByteRange[];
  /** Files beside the disk that pass 2 copies whole (the driver's pendingDiskFiles after power-off). */
  pass2_files?: string[];
}

export function moveData(m: Migration): ColdMoveData {
  const d = m.migrate_data as Partial<ColdMoveData>;
  return {
    ...(d as ColdMoveData),
    old_vm_state: d.old_vm_state ?? VM_STATES.ACTIVE,
    dest_disk_path: d.dest_disk_path ?? '',
    request_context: contextFromWire(d.request_context),
  };
}

/** The instance should run after the move (or after a revert) unless it was stopped before it. */
export function shouldRun(data: ColdMoveData): boolean {
  return data.old_vm_state !== VM_STATES.STOPPED;
}

/** The vm_state an instance settles in once its move is over, from its power after the move. */
export function settledVmState(data: ColdMoveData): typeof VM_STATES.ACTIVE | typeof VM_STATES.STOPPED {
  return shouldRun(data) ? VM_STATES.ACTIVE : VM_STATES.STOPPED;
}

/** A migration and its instance, as a step reads them before deciding anything. */
export interface MoveState {
  migration: Migration;
  instance: Instance | undefined;
  /** The properties of the instance's image, read with it (a layer of its migration policy). */
  imageProperties: Readonly<Record<string, string>> | null;
  data: ColdMoveData;
}

export async function loadMove(ds: Parameters<typeof getMigrationAndInstance>[0], migrationId: number): Promise<MoveState | undefined> {
  const found = await getMigrationAndInstance(ds, migrationId);
  if (!found || (found.migration.migration_type !== 'migration' && found.migration.migration_type !== 'resize')) return undefined;
  const { migration, instance, imageProperties } = found;
  return { migration, instance: instance && !instance.deleted_at ? instance : undefined, imageProperties, data: moveData(migration) };
}
