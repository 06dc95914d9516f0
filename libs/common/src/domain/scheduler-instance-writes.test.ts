import { SCHEDULER_INSTANCE_WRITES, schedulerInstanceWrite } from './scheduler-instance-writes';
import { ALL_TASK_STATES } from './instance-states';

describe("the scheduler's instance writes", () => {
  it('allows the writes its flows make', () => {
    expect(schedulerInstanceWrite(['scheduling'], 'unchanged', ['host', 'node'])?.why).toMatch(/build is placed/);
    expect(schedulerInstanceWrite(['scheduling'], null, ['vm_state'])?.why).toMatch(/ERROR/);
    expect(schedulerInstanceWrite(['migrating'], null, [])).toBeDefined();
    expect(schedulerInstanceWrite(['rebuilding'], null, [])).toBeDefined();
    expect(schedulerInstanceWrite([null], 'migrating', [])).toBeDefined();
    expect(schedulerInstanceWrite([null], 'resize_prep', ['old_flavor', 'new_flavor', 'progress', 'system_metadata'])).toBeDefined();
    expect(schedulerInstanceWrite(['resize_prep'], null, ['old_flavor', 'new_flavor'])).toBeDefined();
  });

  it('refuses a host change outside a build, and any write over a task a compute owns', () => {
    expect(schedulerInstanceWrite(['migrating'], null, ['host'])).toBeUndefined();
    expect(schedulerInstanceWrite(['migrating'], 'unchanged', ['host', 'node'])).toBeUndefined();
    for (const owned of ['resize_migrating', 'resize_finish', 'spawning', 'deleting', 'rebuild_spawning'] as const) {
      expect(schedulerInstanceWrite([owned], null, [])).toBeUndefined();
    }
  });

  it('refuses a write that may find a task state its entry does not list', () => {
    expect(schedulerInstanceWrite([null, 'migrating'], 'migrating', [])).toBeUndefined();
    expect(schedulerInstanceWrite(['scheduling', 'spawning'], null, ['vm_state'])).toBeUndefined();
  });

  it('names only real task states and no deleted or power columns', () => {
    for (const w of SCHEDULER_INSTANCE_WRITES) {
      for (const s of [...w.from, ...(w.to === 'unchanged' ? [] : [w.to])]) expect(s === null || ALL_TASK_STATES.includes(s)).toBe(true);
      expect(w.columns).not.toContain('deleted_at');
      expect(w.columns).not.toContain('power_state');
    }
  });
});
