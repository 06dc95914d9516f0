import { silentLogger } from '@ferry/common/log';
import type { ComputeContext } from '../compute-context';
import { runExclusive } from './exclusive';

/** The parts of a compute's context runExclusive uses. */
function context(stopping = new AbortController()): ComputeContext {
  return { activeMoves: new Set<number>(), log: silentLogger(), stopping: stopping.signal } as unknown as ComputeContext;
}

const tick = () => new Promise((r) => setImmediate(r));

describe('runExclusive', () => {
  it('a step asked while another of the same migration runs is run once that one ends, not dropped', async () => {
    const c = context();
    const order: string[] = [];
    let endFirst!: () => void;
    const first = runExclusive(c, 7, async () => {
      order.push('recovery pass');
      await new Promise<void>((r) => { endFirst = r; });
    });
    expect(await runExclusive(c, 7, async () => { order.push('confirm'); })).toBe(false);
    // Another migration is not held up.
    expect(await runExclusive(c, 8, async () => { order.push('other migration'); })).toBe(true);
    await tick();
    expect(order).toEqual(['recovery pass', 'other migration']);
    endFirst();
    expect(await first).toBe(true);
    await tick();
    expect(order).toEqual(['recovery pass', 'other migration', 'confirm']);
    expect(c.activeMoves.size).toBe(0);
  });

  it('runs the waiting step after a failed one too, and not at all once the service is stopping', async () => {
    const stopping = new AbortController();
    const c = context(stopping);
    const ran: string[] = [];
    let failFirst!: (err: Error) => void;
    const first = runExclusive(c, 7, () => new Promise<void>((_, reject) => { failFirst = reject; }));
    await runExclusive(c, 7, async () => { ran.push('after a failure'); });
    failFirst(new Error('copy failed'));
    await expect(first).rejects.toThrow('copy failed');
    await tick();
    expect(ran).toEqual(['after a failure']);

    let endSecond!: () => void;
    const second = runExclusive(c, 9, () => new Promise<void>((r) => { endSecond = r; }));
    await runExclusive(c, 9, async () => { ran.push('while stopping'); });
    stopping.abort();
    endSecond();
    await second;
    await tick();
    expect(ran).toEqual(['after a failure']);
  });
});
