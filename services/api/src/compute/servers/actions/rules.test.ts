import { apiStatus, isTaskState, isVmState } from '@ferry/common/domain';
import { ALLOW_HARD_REBOOT_TASKS, CONFIRM_RESIZE_RULE, MOVE_RULES, TASK_RULES } from './rules';

describe('power action rules', () => {
  it("copy Nova's ALLOW_REBOOT for a hard reboot", () => {
    expect([...ALLOW_HARD_REBOOT_TASKS].sort((a, b) => String(a).localeCompare(String(b)))).toEqual(
      [null, 'pausing', 'reboot_pending', 'reboot_started', 'rebooting', 'rebooting_hard', 'resuming', 'suspending', 'unpausing'],
    );
  });

  it('name only real states, and start every action from "no task" in a state the action leaves', () => {
    for (const [name, rule] of Object.entries(TASK_RULES)) {
      expect({ name, vm: rule.vmStates.every(isVmState), from: rule.fromTasks.every((t) => t === null || isTaskState(t)), to: isTaskState(rule.to) })
        .toEqual({ name, vm: true, from: true, to: true });
      expect(rule.fromTasks).toContain(null);
    }
  });

  it('give the statuses clients wait on while the task runs', () => {
    expect(apiStatus('active', TASK_RULES.softReboot.to)).toBe('REBOOT');
    expect(apiStatus('stopped', TASK_RULES.hardReboot.to)).toBe('SHUTOFF');
    expect(apiStatus('active', TASK_RULES.hardReboot.to)).toBe('HARD_REBOOT');
    expect(apiStatus('active', TASK_RULES.stop.to)).toBe('ACTIVE');
    expect(apiStatus('active', TASK_RULES.suspend.to)).toBe('ACTIVE');
    expect(apiStatus('suspended', TASK_RULES.resume.to)).toBe('SUSPENDED');
    expect(apiStatus('suspended', null)).toBe('SUSPENDED');
  });

  it("allow Nova's vm_states per action", () => {
    expect(Object.fromEntries(Object.entries(TASK_RULES).map(([k, r]) => [k, [...r.vmStates].sort()]))).toEqual({
      stop: ['active', 'error'], start: ['stopped'], softReboot: ['active'], hardReboot: ['active', 'error', 'paused', 'stopped', 'suspended'],
      pause: ['active'], unpause: ['paused'], suspend: ['active'], resume: ['suspended'],
    });
  });
});

describe('cold move rules', () => {
  it("start from Nova's states with no task, and name their actions as Nova's 409s and event list do", () => {
    const rows = Object.entries({ ...MOVE_RULES, confirmResize: CONFIRM_RESIZE_RULE }).map(([k, r]) => [k, r.action, r.instanceAction, [...r.vmStates].sort(), r.fromTasks]);
    expect(rows).toEqual([
      ['resize', 'resize', 'resize', ['active', 'stopped'], [null]],
      ['migrate', 'migrate', 'migrate', ['active', 'stopped'], [null]],
      ['revertResize', 'revertResize', 'revertResize', ['resized'], [null]],
      ['confirmResize', 'confirmResize', 'confirmResize', ['resized'], [null]],
    ]);
  });

  it('give the statuses clients wait on while the task runs', () => {
    expect(apiStatus('active', MOVE_RULES.resize.to)).toBe('RESIZE');
    expect(apiStatus('stopped', MOVE_RULES.migrate.to)).toBe('RESIZE');
    expect(apiStatus('resized', MOVE_RULES.revertResize.to)).toBe('REVERT_RESIZE');
    expect(apiStatus('resized', null)).toBe('VERIFY_RESIZE');
  });
});
