import { drainDecision, planDrain, type DrainCandidate } from './host-drain';
import { countDrainItems, drainItemProgress, type DrainItemContext } from './host-drain-progress';

const vm = (uuid: string, vm_state: string, memory_mb: number, root_gb = 1): DrainCandidate => ({ uuid, display_name: uuid, vm_state, flavor: { memory_mb, root_gb } });

describe('drainDecision', () => {
  it('moves running guests live and stopped ones cold in mode auto', () => {
    expect(drainDecision('auto', 'active')).toEqual({ move: 'live' });
    expect(drainDecision('auto', 'paused')).toEqual({ move: 'live' });
    expect(drainDecision('auto', 'stopped')).toEqual({ move: 'cold' });
  });

  it('leaves stopped guests in mode live and paused ones in mode cold, saying why', () => {
    expect(drainDecision('live', 'stopped')).toEqual({ skip: expect.stringMatching(/^stopped: mode live/) });
    expect(drainDecision('cold', 'paused')).toEqual({ skip: expect.stringMatching(/^paused: a cold migration/) });
    expect(drainDecision('cold', 'active')).toEqual({ move: 'cold' });
  });

  it('leaves every other state with its name in the reason', () => {
    for (const state of ['error', 'suspended', 'rescued', 'building', 'resized']) {
      expect(drainDecision('auto', state)).toEqual({ skip: expect.stringContaining(state) });
    }
  });
});

describe('planDrain', () => {
  it('orders by RAM, then disk, then idle before running', () => {
    const plan = planDrain('auto', [vm('a', 'active', 2048), vm('b', 'active', 512, 20), vm('c', 'active', 512), vm('d', 'stopped', 512), vm('e', 'error', 256)]);
    expect(plan.map((p) => p.instance_uuid)).toEqual(['e', 'd', 'c', 'b', 'a']);
    expect(plan.map((p) => p.move)).toEqual([null, 'cold', 'live', 'live', 'live']);
    expect(plan[0].skip_reason).toMatch(/^error/);
  });
});

describe('drainItemProgress', () => {
  const [item] = planDrain('auto', [vm('u', 'active', 512)]);
  const now = new Date('2026-01-01T00:01:00Z');
  const ctx: DrainItemContext = { host: 'h1', now, startGraceMs: 30_000 };
  const on = (host: string, task_state: string | null = null) => ({ host, task_state });

  it('is pending until started, then starting for the grace, then pending again if its task was never taken', () => {
    expect(drainItemProgress(item, { instance: on('h1') }, ctx).state).toBe('pending');
    expect(drainItemProgress(item, { instance: on('h1') }, { ...ctx, dispatchedAt: new Date('2026-01-01T00:00:50Z') }).state).toBe('starting');
    expect(drainItemProgress(item, { instance: on('h1') }, { ...ctx, dispatchedAt: new Date('2026-01-01T00:00:00Z') }).state).toBe('pending');
  });

  it('is in flight while its task or an open record says so, moved once its record completed', () => {
    expect(drainItemProgress(item, { instance: on('h1', 'migrating') }, ctx).state).toBe('in_flight');
    const m = { id: 7, status: 'running', dest_compute: 'h2', last_error: null };
    expect(drainItemProgress(item, { instance: on('h1', 'migrating'), migration: m }, ctx)).toMatchObject({ state: 'in_flight', migration_id: 7 });
    expect(drainItemProgress(item, { instance: on('h2'), migration: { ...m, status: 'completed' } }, ctx)).toMatchObject({ state: 'moved', dest: 'h2' });
  });

  it('failed with the record\'s error, or the fault recorded after it was started', () => {
    const m = { id: 7, status: 'error', dest_compute: null, last_error: 'No valid host was found.' };
    expect(drainItemProgress(item, { instance: on('h1'), migration: m }, ctx)).toMatchObject({ state: 'failed', reason: 'No valid host was found.' });
    const dispatchedAt = new Date('2026-01-01T00:00:55Z');
    const fault = { message: 'Cannot reach destination', at: new Date('2026-01-01T00:00:56Z') };
    expect(drainItemProgress(item, { instance: on('h1'), fault }, { ...ctx, dispatchedAt })).toMatchObject({ state: 'failed', reason: 'Cannot reach destination' });
    expect(drainItemProgress(item, { instance: on('h1'), fault: { ...fault, at: new Date('2026-01-01T00:00:10Z') } }, { ...ctx, dispatchedAt }).state).toBe('starting');
    expect(drainItemProgress(item, { instance: on('h1') }, { ...ctx, refused: 'stopped: …' })).toMatchObject({ state: 'failed', reason: 'stopped: …' });
  });

  it('skipped when planned so or deleted meanwhile; the tally counts every state', () => {
    const [stopped] = planDrain('live', [vm('s', 'stopped', 512)]);
    const items = [drainItemProgress(stopped, { instance: on('h1') }, ctx), drainItemProgress(item, {}, ctx), drainItemProgress(item, { instance: on('h1') }, ctx)];
    expect(items.map((i) => i.state)).toEqual(['skipped', 'skipped', 'pending']);
    expect(items[1].reason).toBe('deleted during the drain');
    expect(countDrainItems(items)).toEqual({ pending: 1, starting: 0, in_flight: 0, moved: 0, failed: 0, skipped: 2 });
  });
});
