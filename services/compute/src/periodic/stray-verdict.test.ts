import { claimReleasable, guestVerdict, standingOf, type StrayFacts } from './stray-verdict';

const GRACE = 60;
const facts = (over: Partial<Omit<StrayFacts, 'instance'>> & { instance?: StrayFacts['instance'] | null } = {}): StrayFacts => {
  const { instance, ...rest } = over;
  return {
    host: 'h1', openMoveHere: false, quietSeconds: 3600, ...rest,
    instance: instance === null ? undefined : { host: 'h2', task_state: null, deleted: false, ...instance },
  };
};

describe('standingOf', () => {
  it.each([
    ['unknown', facts({ instance: null })],
    ['deleted', facts({ instance: { host: 'h1', task_state: 'migrating', deleted: true } })],
    ['ours', facts({ instance: { host: 'h1', task_state: null, deleted: false } })],
    ['busy', facts({ instance: { host: 'h2', task_state: 'resize_prep', deleted: false } })],
    ['busy', facts({ openMoveHere: true })],
    ['settling', facts({ quietSeconds: 10 })],
    ['stray', facts()],
  ])('%s', (expected, f) => {
    expect(standingOf(f, GRACE)).toBe(expected);
  });
});

describe('guestVerdict', () => {
  it('keeps whatever the database places here, a busy instance, or one that changed within the grace period', () => {
    for (const s of ['ours', 'busy', 'settling'] as const) {
      for (const p of ['absent', 'incoming', 'running', 'paused', 'stopped'] as const) expect(guestVerdict(s, p, 'h2')).toEqual({ action: 'keep' });
    }
  });
  it('destroys any VM of a deleted instance, running or not, without asking anyone', () => {
    expect(guestVerdict('deleted', 'running', 'h2')).toMatchObject({ action: 'destroy' });
    expect(guestVerdict('deleted', 'running', 'h2')).not.toHaveProperty('proveCopyOn');
  });
  it('destroys a stray incoming VM (it never ran the guest), and a stray disk only once the named host shows its copy', () => {
    expect(guestVerdict('stray', 'incoming', 'h2')).toMatchObject({ action: 'destroy' });
    expect(guestVerdict('stray', 'absent', 'h2')).toMatchObject({ action: 'destroy', proveCopyOn: 'h2' });
  });
  it('only reports a guest that runs, is paused or stopped here while the database names another host, and anything unknown', () => {
    for (const p of ['running', 'paused', 'stopped'] as const) expect(guestVerdict('stray', p, 'h2').action).toBe('report');
    expect(guestVerdict('stray', 'absent', null).action).toBe('report');
    expect(guestVerdict('unknown', 'incoming', null).action).toBe('report');
  });
});

describe('claimReleasable', () => {
  it('frees claims of deleted or stray instances with no guest left here, nothing else', () => {
    expect(claimReleasable('deleted', false)).toBe(true);
    expect(claimReleasable('stray', false)).toBe(true);
    expect(claimReleasable('stray', true)).toBe(false);
    for (const s of ['unknown', 'ours', 'busy', 'settling'] as const) expect(claimReleasable(s, false)).toBe(false);
  });
});
