import type { HostState } from './host-state';
import type { SharedPlacement } from './load-hosts';
import { PlacementReads } from './placement-reads';

/** A read the test ends by hand, remembering which consumers it was asked for. */
function manualReads() {
  const calls: { uuids: readonly string[]; end(held?: Record<string, string[]>): void; fail(err: Error): void }[] = [];
  const read = (uuids: readonly string[]) => new Promise<SharedPlacement>((resolve, reject) => {
    const hosts: HostState[] = [];
    calls.push({
      uuids,
      end: (held = {}) => resolve({ hosts, heldHostsOf: (u) => held[u] ?? [] }),
      fail: reject,
    });
  });
  return { calls, read };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('PlacementReads', () => {
  it('serves the moves that ask while a read is under way with one next read, each with its own claims', async () => {
    const { calls, read } = manualReads();
    const reads = new PlacementReads(read);
    const first = reads.read('u-1');
    expect(calls).toHaveLength(1);
    const second = reads.read('u-2');
    const third = reads.read('u-3');
    // Asked after the first read began: not served by it.
    expect(calls).toHaveLength(1);
    calls[0]!.end({ 'u-1': ['h-a'] });
    expect((await first).heldHosts).toEqual(['h-a']);
    await tick();
    expect(calls).toHaveLength(2);
    expect([...calls[1]!.uuids]).toEqual(['u-2', 'u-3']);
    calls[1]!.end({ 'u-3': ['h-b'] });
    const [s, t] = await Promise.all([second, third]);
    expect(s.heldHosts).toEqual([]);
    expect(t.heldHosts).toEqual(['h-b']);
    // The moves of one read share its host states.
    expect(s.hosts).toBe(t.hosts);
  });

  it('a failed read fails the moves it served, and the next move reads again', async () => {
    const { calls, read } = manualReads();
    const reads = new PlacementReads(read);
    const a = reads.read('u-1');
    const b = reads.read('u-2');
    calls[0]!.fail(new Error('database unreachable'));
    await expect(a).rejects.toThrow('database unreachable');
    await tick();
    calls[1]!.fail(new Error('database unreachable'));
    await expect(b).rejects.toThrow('database unreachable');
    const c = reads.read('u-3');
    await tick();
    expect(calls).toHaveLength(3);
    calls[2]!.end();
    expect((await c).heldHosts).toEqual([]);
  });
});
