// check_can_live_migrate_source on the source (a call from the destination): the instance is here, in a state that
// can move live, and a rescued one only where this host can move rescued instances.
import { computeNodesOf } from '@ferry/common/db';
import { MigrationPreCheckError, VM_STATES } from '@ferry/common/domain';
import type { ComputeContext } from '../compute-context';
import { RESCUED_CAPABILITY } from '../client/wire-types';
import { loadLiveMove } from './live-record';

const LIVE_MOVABLE: readonly string[] = [VM_STATES.ACTIVE, VM_STATES.PAUSED, VM_STATES.RESCUED];

export async function checkCanLiveMigrateSource(c: ComputeContext, migrationId: number): Promise<{ ok: true }> {
  const move = await loadLiveMove(c.ds, migrationId);
  const instance = move?.instance;
  if (!move || !instance || instance.host !== c.host || move.migration.source_compute !== c.host) {
    throw MigrationPreCheckError.because(`instance of migration ${migrationId} is not on source host ${c.host}`);
  }
  if (!LIVE_MOVABLE.includes(instance.vm_state)) throw MigrationPreCheckError.because(`instance ${instance.uuid} is ${instance.vm_state}; only active or paused instances move live`);
  const vm = await c.driver.getVm(instance.uuid);
  if (!vm) throw MigrationPreCheckError.because(`instance ${instance.uuid} has no VM on source host ${c.host}`);
  if (instance.vm_state === VM_STATES.RESCUED) {
    const node = (await computeNodesOf(c.ds, [c.host])).get(c.host);
    if (!node?.capabilities?.[RESCUED_CAPABILITY]) throw MigrationPreCheckError.because(`host ${c.host} does not support live migration of rescued instances`);
  }
  return { ok: true };
}
