// At startup: builds this host was spawning when its compute died. A VM that came up finishes the build;
// otherwise what the spawn left is removed and the instance goes to ERROR (Nova's init_host does the same).
import { listInstancesOnHost, recordInstanceFault, updateInstanceIf } from '@ferry/common/db';
import { POWER_STATES, VM_STATES } from '@ferry/common/domain';
import type { ComputeContext } from '../compute-context';

export async function recoverInterruptedBuilds(c: ComputeContext): Promise<void> {
  const spawning = (await listInstancesOnHost(c.ds, c.host)).filter((i) => i.vm_state === VM_STATES.BUILDING && i.task_state === 'spawning');
  for (const instance of spawning) await settleInterruptedBuild(c, instance.uuid, `compute ${c.host} restarted while spawning`);
}

/**
 * One build left in `spawning` on this host with no run of it here (a restart, or the write that ends it failed):
 * a VM that came up makes it ACTIVE; otherwise what the spawn left is removed and the instance goes to ERROR.
 */
export async function settleInterruptedBuild(c: ComputeContext, uuid: string, why: string): Promise<void> {
  const expected = { vm_states: [VM_STATES.BUILDING], task_states: ['spawning'], host: c.host } as const;
  const vm = await c.driver.getVm(uuid);
  if (vm?.power_state === POWER_STATES.RUNNING) {
    if (await updateInstanceIf(c.ds, uuid, expected, { vm_state: VM_STATES.ACTIVE, task_state: null, power_state: POWER_STATES.RUNNING, launched: true })) {
      c.log.info({ instance_uuid: uuid, why }, 'interrupted build had finished; instance is ACTIVE');
    }
    return;
  }
  await c.driver.destroy(uuid);
  await recordInstanceFault(c.ds, { instance_uuid: uuid, code: 500, message: `Build interrupted: ${why}`, host: c.host });
  if (await updateInstanceIf(c.ds, uuid, expected, { vm_state: VM_STATES.ERROR, task_state: null, power_state: POWER_STATES.NOSTATE })) {
    c.log.warn({ instance_uuid: uuid, why }, 'build interrupted; instance set to ERROR');
  }
}
