import type { HostState } from './host-state';
import type { SharedPlacement } from './load-hosts';
import { PlacementReads, type MovePlacement } from './placement-reads';

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
/** A placement that hands back what it was given. */
const given = async (p: MovePlacement) => p;

describe('PlacementReads', () => {
  it('serves the moves that ask while a read is under way with one next read, each with its own claims', async () => {
    const { calls, read } = manualReads();
    const reads = new PlacementReads(read);
    const first = reads.place('u-1', given);
    await tick();
    expect(calls).toHaveLength(1);
    const second = reads.place('u-2', given);
    const third = reads.place('u-3', given);
    await tick();
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

  it('places one consumer once at a time: a repeated request waits for the placement under way, then reads anew', async () => {
    const { calls, read } = manualReads();
    const reads = new PlacementReads(read);
    let endFirst!: () => void;
    const firstPlaced = new Promise<void>((r) => { endFirst = r; });
    const first = reads.place('u-1', async (p) => { await firstPlaced; return p; });
    const again = reads.place('U-1', given);
    await tick();
    calls[0]!.end();
    await tick();
    // The first holds its read, still placing: the repeat has not read yet, not even on the first's read.
    expect(calls).toHaveLength(1);
    endFirst();
    await first;
    await tick();
    expect(calls).toHaveLength(2);
    expect([...calls[1]!.uuids]).toEqual(['U-1']);
    // The claim the first made is what the repeat finds.
    calls[1]!.end({ 'U-1': ['h-a'] });
    expect((await again).heldHosts).toEqual(['h-a']);
  });

  it('a failed read fails the moves it served, a failed placement lets the repeat go on, and later moves read again', async () => {
    const { calls, read } = manualReads();
    const reads = new PlacementReads(read);
    const a = reads.place('u-1', async () => { throw new Error('claim failed'); });
    const b = reads.place('u-2', given);
    await tick();
    calls[0]!.end();
    await expect(a).rejects.toThrow('claim failed');
    await tick();
    calls[1]!.fail(new Error('database unreachable'));
    await expect(b).rejects.toThrow('database unreachable');
    const c = reads.place('u-1', given);
    await tick();
    expect(calls).toHaveLength(3);
    calls[2]!.end();
    expect((await c).heldHosts).toEqual([]);
  });

  it('a read that throws at once fails its moves and does not stop the next read', async () => {
    let first = true;
    // Not async: the first call throws before any promise exists.
    const reads = new PlacementReads((uuids) => {
      if (first) {
        first = false;
        throw new Error('bad statement');
      }
      return Promise.resolve({ hosts: [], heldHostsOf: (u: string) => (uuids.includes(u) ? ['h-z'] : []) });
    });
    await expect(reads.place('u-1', given)).rejects.toThrow('bad statement');
    expect((await reads.place('u-2', given)).heldHosts).toEqual(['h-z']);
  });

  it('a held-hosts lookup that throws fails that move alone; the others of the read are placed', async () => {
    const { calls, read } = manualReads();
    const reads = new PlacementReads(read);
    const first = reads.place('u-0', given);
    await tick();
    const bad = reads.place('u-bad', given);
    const good = reads.place('u-ok', given);
    calls[0]!.end();
    await first;
    await tick();
    const held: Record<string, string[]> = { 'u-ok': ['h-a'] };
    Object.defineProperty(held, 'u-bad', { get: () => { throw new Error('unreadable claims'); } });
    calls[1]!.end(held);
    await expect(bad).rejects.toThrow('unreadable claims');
    expect((await good).heldHosts).toEqual(['h-a']);
  });
});
