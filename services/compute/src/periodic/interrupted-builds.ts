// At startup: builds this host was spawning when its compute died. A VM that came up finishes the build;
// otherwise what the spawn left is removed and the instance goes to ERROR (Nova's init_host does the same).
import { listInstancesOnHost, recordInstanceFault, updateInstanceIf } from '@ferry/common/db';
import { POWER_STATES, VM_STATES } from '@ferry/common/domain';
import type { ComputeContext } from '../compute-context';

export async function recoverInterruptedBuilds(c: ComputeContext): Promise<void> {
  const spawning = (await listInstancesOnHost(c.ds, c.host)).filter((i) => i.vm_state === VM_STATES.BUILDING && i.task_state === 'spawning');
  for (const instance of spawning) {
    const expected = { vm_states: [VM_STATES.BUILDING], task_states: ['spawning'], host: c.host } as const;
    const vm = await c.driver.getVm(instance.uuid);
    if (vm?.power_state === POWER_STATES.RUNNING) {
      await updateInstanceIf(c.ds, instance.uuid, expected, { vm_state: VM_STATES.ACTIVE, task_state: null, power_state: POWER_STATES.RUNNING, launched: true });
      c.log.info({ instance_uuid: instance.uuid }, 'build interrupted by a restart had finished; instance is ACTIVE');
      continue;
    }
    await c.driver.destroy(instance.uuid);
    await recordInstanceFault(c.ds, { instance_uuid: instance.uuid, code: 500, message: `Build interrupted: compute ${c.host} restarted while spawning`, host: c.host });
    if (await updateInstanceIf(c.ds, instance.uuid, expected, { vm_state: VM_STATES.ERROR, task_state: null, power_state: POWER_STATES.NOSTATE })) {
      c.log.warn({ instance_uuid: instance.uuid }, 'build interrupted by a restart; instance set to ERROR');
    }
  }
}
