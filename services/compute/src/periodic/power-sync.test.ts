import { ALL_POWER_STATES, ALL_VM_STATES, POWER_STATES, VM_STATES, isVmState } from '@ferry/common/domain';
import { syncedVmState, VM_STATE_FROM_POWER } from './power-sync';

describe('power-state sync rules', () => {
  it('writes the truth for idle instances: a VM found shut down while ACTIVE is STOPPED, and so on', () => {
    expect(syncedVmState(VM_STATES.ACTIVE, POWER_STATES.SHUTDOWN)).toBe(VM_STATES.STOPPED);
    expect(syncedVmState(VM_STATES.ACTIVE, POWER_STATES.CRASHED)).toBe(VM_STATES.STOPPED);
    expect(syncedVmState(VM_STATES.ACTIVE, POWER_STATES.PAUSED)).toBe(VM_STATES.PAUSED);
    expect(syncedVmState(VM_STATES.STOPPED, POWER_STATES.RUNNING)).toBe(VM_STATES.ACTIVE);
    expect(syncedVmState(VM_STATES.PAUSED, POWER_STATES.RUNNING)).toBe(VM_STATES.ACTIVE);
    expect(syncedVmState(VM_STATES.PAUSED, POWER_STATES.SHUTDOWN)).toBe(VM_STATES.STOPPED);
    expect(syncedVmState(VM_STATES.ACTIVE, POWER_STATES.SUSPENDED)).toBe(VM_STATES.SUSPENDED);
    expect(syncedVmState(VM_STATES.SUSPENDED, POWER_STATES.RUNNING)).toBe(VM_STATES.ACTIVE);
    expect(syncedVmState(VM_STATES.SUSPENDED, POWER_STATES.SHUTDOWN)).toBe(VM_STATES.STOPPED);
  });

  it('keeps the vm_state when the VM vanished (NOSTATE) or already matches', () => {
    for (const vm of ALL_VM_STATES) expect(syncedVmState(vm, POWER_STATES.NOSTATE)).toBe(vm);
    expect(syncedVmState(VM_STATES.ACTIVE, POWER_STATES.RUNNING)).toBe(VM_STATES.ACTIVE);
    expect(syncedVmState(VM_STATES.STOPPED, POWER_STATES.SHUTDOWN)).toBe(VM_STATES.STOPPED);
    expect(syncedVmState(VM_STATES.ERROR, POWER_STATES.SHUTDOWN)).toBe(VM_STATES.ERROR);
  });

  it('names only known vm_states and power states, and never maps to building, deleted or error', () => {
    for (const [from, row] of Object.entries(VM_STATE_FROM_POWER)) {
      expect(isVmState(from)).toBe(true);
      for (const [power, to] of Object.entries(row ?? {})) {
        expect(ALL_POWER_STATES).toContain(Number(power));
        expect([VM_STATES.ACTIVE, VM_STATES.STOPPED, VM_STATES.PAUSED, VM_STATES.SUSPENDED]).toContain(to);
      }
    }
  });
});
