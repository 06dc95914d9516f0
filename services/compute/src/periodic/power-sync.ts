// Power-state sync: what the hypervisor really runs is written over what the database believes, for idle instances.
import { listInstancesOnHost, updateInstanceIf } from '@ferry/common/db';
import { POWER_STATES, VM_STATES, powerStateName, type PowerState, type VmState } from '@ferry/common/domain';
import type { ComputeContext } from '../compute-context';
import { releaseEndedHolds } from '../evacuation/fencing';

/**
 * The vm_state an idle instance takes when its VM is observed in a power state (Nova's _sync_power_states,
 * writing the truth). Pairs not listed keep their vm_state; only power_state is updated. A VM that vanished
 * (NOSTATE) keeps its vm_state: the hypervisor may merely be restarting.
 */
export const VM_STATE_FROM_POWER: Readonly<Partial<Record<VmState, Partial<Record<PowerState, VmState>>>>> = Object.freeze({
  [VM_STATES.ACTIVE]: {
    [POWER_STATES.SHUTDOWN]: VM_STATES.STOPPED, [POWER_STATES.CRASHED]: VM_STATES.STOPPED, [POWER_STATES.PAUSED]: VM_STATES.PAUSED,
    [POWER_STATES.SUSPENDED]: VM_STATES.SUSPENDED,
  },
  [VM_STATES.STOPPED]: { [POWER_STATES.RUNNING]: VM_STATES.ACTIVE, [POWER_STATES.PAUSED]: VM_STATES.PAUSED },
  [VM_STATES.PAUSED]: {
    [POWER_STATES.RUNNING]: VM_STATES.ACTIVE, [POWER_STATES.SHUTDOWN]: VM_STATES.STOPPED, [POWER_STATES.CRASHED]: VM_STATES.STOPPED,
    [POWER_STATES.SUSPENDED]: VM_STATES.SUSPENDED,
  },
  [VM_STATES.SUSPENDED]: {
    [POWER_STATES.RUNNING]: VM_STATES.ACTIVE, [POWER_STATES.PAUSED]: VM_STATES.PAUSED, [POWER_STATES.SHUTDOWN]: VM_STATES.STOPPED,
    [POWER_STATES.CRASHED]: VM_STATES.STOPPED,
  },
});

/** vm_states the sync leaves entirely alone (a build still in flight, or an instance on its way out). */
const UNSYNCED: readonly string[] = [VM_STATES.BUILDING, VM_STATES.DELETED, VM_STATES.SOFT_DELETED];

export function syncedVmState(vmState: VmState, observed: PowerState): VmState {
  return VM_STATE_FROM_POWER[vmState]?.[observed] ?? vmState;
}

export interface PowerSyncReport {
  checked: number;
  updated: number;
}

export async function syncPowerStates(c: ComputeContext): Promise<PowerSyncReport> {
  // A guest held for an evacuation that has since ended unfinished is synced like any other from this pass on.
  await releaseEndedHolds(c);
  // The database first, then the driver: a request that completes in between changes the row, so the
  // compare-and-set below (on what was read) loses instead of writing an outdated observation.
  const idle = (await listInstancesOnHost(c.ds, c.host)).filter((i) => i.task_state === null && !UNSYNCED.includes(i.vm_state) && !c.fencedGuests.has(i.uuid) && !c.evacuationHolds.has(i.uuid));
  if (idle.length === 0) return { checked: 0, updated: 0 };
  const vms = new Map((await c.driver.listVms()).map((vm) => [vm.uuid, vm]));
  let updated = 0;
  for (const instance of idle) {
    const observed = vms.get(instance.uuid)?.power_state ?? POWER_STATES.NOSTATE;
    const vmState = syncedVmState(instance.vm_state as VmState, observed);
    if (observed === instance.power_state && vmState === instance.vm_state) continue;
    const wrote = await updateInstanceIf(
      c.ds, instance.uuid,
      { task_states: [null], vm_states: [instance.vm_state as VmState], host: c.host, power_state: instance.power_state as PowerState },
      { power_state: observed, vm_state: vmState },
    );
    if (!wrote) continue;
    updated++;
    const fields = { instance_uuid: instance.uuid, from: powerStateName(instance.power_state), to: powerStateName(observed), vm_state: vmState };
    if (observed === POWER_STATES.NOSTATE) c.log.warn(fields, 'instance not found on its host; power state set to NOSTATE');
    else c.log.info(fields, 'power state synced from the hypervisor');
  }
  return { checked: idle.length, updated };
}
