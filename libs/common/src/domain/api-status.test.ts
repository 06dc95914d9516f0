import { API_STATUSES, API_STATUS_MAP, apiStatus, vmStatesForApiStatus } from './api-status';
import { ALL_TASK_STATES, ALL_VM_STATES, POWER_STATES, isTaskState, isVmState, powerStateName } from './instance-states';

describe('instance states', () => {
  it('use Nova literals', () => {
    expect(isVmState('soft-delete')).toBe(true);
    expect(isVmState('soft-deleted')).toBe(false);
    expect(isTaskState('powering-off')).toBe(true);
    expect(isTaskState('resize_migrated')).toBe(true);
    expect(new Set(ALL_TASK_STATES).size).toBe(ALL_TASK_STATES.length);
  });

  it('power states carry Nova numbers', () => {
    expect(POWER_STATES).toEqual({ NOSTATE: 0, RUNNING: 1, PAUSED: 3, SHUTDOWN: 4, CRASHED: 6, SUSPENDED: 7 });
    expect(powerStateName(4)).toBe('SHUTDOWN');
  });
});

describe('API status mapping (as data)', () => {
  it('has a row for every vm_state, keyed only by known task states, mapping to known statuses', () => {
    expect(Object.keys(API_STATUS_MAP).sort()).toEqual([...ALL_VM_STATES].sort());
    for (const row of Object.values(API_STATUS_MAP)) {
      expect(API_STATUSES).toContain(row.default);
      for (const [task, status] of Object.entries(row.tasks)) {
        expect(ALL_TASK_STATES).toContain(task);
        expect(API_STATUSES).toContain(status);
      }
    }
  });

  it.each([
    ['active', null, 'ACTIVE'],
    ['active', 'resize_prep', 'RESIZE'],
    ['active', 'resize_migrating', 'RESIZE'],
    ['active', 'resize_migrated', 'RESIZE'],
    ['active', 'resize_finish', 'RESIZE'],
    ['stopped', 'resize_migrating', 'RESIZE'],
    ['stopped', null, 'SHUTOFF'],
    ['resized', null, 'VERIFY_RESIZE'],
    ['resized', 'resize_confirming', 'VERIFY_RESIZE'],
    ['resized', 'resize_reverting', 'REVERT_RESIZE'],
    ['active', 'migrating', 'MIGRATING'],
    ['paused', 'migrating', 'MIGRATING'],
    ['paused', null, 'PAUSED'],
    ['rescued', null, 'RESCUE'],
    ['rescued', 'migrating', 'RESCUE'],
    ['active', 'rebooting', 'REBOOT'],
    ['active', 'reboot_started_hard', 'HARD_REBOOT'],
    ['active', 'updating_password', 'PASSWORD'],
    ['active', 'rebuild_spawning', 'REBUILD'],
    ['error', 'rebuilding', 'REBUILD'],
    ['error', null, 'ERROR'],
    ['building', 'spawning', 'BUILD'],
    ['active', 'powering-off', 'ACTIVE'],
    ['deleted', null, 'DELETED'],
    ['soft-delete', null, 'SOFT_DELETED'],
    ['shelved_offloaded', null, 'SHELVED_OFFLOADED'],
    ['no-such-state', null, 'UNKNOWN'],
  ])('%s / %s → %s', (vm, task, status) => {
    expect(apiStatus(vm, task)).toBe(status);
  });

  it('filters GET /servers?status= as Nova does', () => {
    expect(vmStatesForApiStatus('RESIZE')).toEqual({
      vmStates: ['active', 'stopped'],
      taskStates: ['resize_finish', 'resize_migrated', 'resize_migrating', 'resize_prep'],
    });
    expect(vmStatesForApiStatus('MIGRATING')).toEqual({ vmStates: ['active', 'paused'], taskStates: ['migrating'] });
    expect(vmStatesForApiStatus('verify_resize')).toEqual({ vmStates: ['resized'], taskStates: null });
    expect(vmStatesForApiStatus('ACTIVE')).toEqual({ vmStates: ['active'], taskStates: null });
    expect(vmStatesForApiStatus(['SHUTOFF', 'REVERT_RESIZE'])).toEqual({ vmStates: ['resized', 'stopped'], taskStates: null });
    expect(vmStatesForApiStatus('BOGUS')).toEqual({ vmStates: [], taskStates: [] });
  });
});
