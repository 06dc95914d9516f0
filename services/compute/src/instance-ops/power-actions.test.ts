import { isTaskState, isVmState, isPowerState } from '@ferry/common/domain';
import { POWER_ACTIONS } from './power-actions';

describe('power actions table', () => {
  it('names known task states, vm_states and power states, and Nova\'s event names', () => {
    for (const [name, action] of Object.entries(POWER_ACTIONS)) {
      expect(action.taskStates.length).toBeGreaterThan(0);
      expect(action.taskStates.every(isTaskState)).toBe(true);
      expect(isVmState(action.result.vm_state)).toBe(true);
      expect(isPowerState(action.result.power_state)).toBe(true);
      expect(action.event).toBe(`compute_${name}_instance`);
    }
  });

  it('accepts the task state the API sets before each cast', () => {
    expect(POWER_ACTIONS.stop.taskStates).toContain('powering-off');
    expect(POWER_ACTIONS.start.taskStates).toContain('powering-on');
    expect(POWER_ACTIONS.reboot.taskStates).toEqual(expect.arrayContaining(['rebooting', 'rebooting_hard']));
    expect(POWER_ACTIONS.pause.taskStates).toContain('pausing');
    expect(POWER_ACTIONS.unpause.taskStates).toContain('unpausing');
  });

  it('gives every task state to at most one action', () => {
    const all = Object.values(POWER_ACTIONS).flatMap((a) => [...a.taskStates]);
    expect(new Set(all).size).toBe(all.length);
  });
});
