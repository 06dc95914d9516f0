import type { InstanceFlavor, ResourceClaim } from '@ferry/common/db';
import { NoValidHost } from '@ferry/common/domain';
import { freeResources, type HostState } from './host-state';
import { placeInstance } from './placement';

const TINY: InstanceFlavor = { id: 1, flavorid: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 512, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} };
const spec = { flavor: TINY, image_ref: 'cirros', project_id: 'p' };

function host(name: string, freeRam: number): HostState {
  return {
    host: name, node: `${name}.node`, availability_zone: 'nova',
    service: { host: name, binary: 'ferry-compute', topic: 'compute', disabled: false, forced_down: false, last_seen_up: new Date(), state: 'up', heartbeat_age_s: 0 },
    capacity: { vcpus: 16, memory_mb: 8192, disk_gb: 100 },
    used: { vcpus: 0, memory_mb: 8192 - freeRam, disk_gb: 0 },
  };
}

describe('placeInstance', () => {
  it('claims the best host and offers the next ones as alternates, up to maxAttempts hosts in all', async () => {
    const claims: ResourceClaim[] = [];
    const hosts = [host('a', 1024), host('b', 4096), host('c', 2048), host('d', 600)];
    const s = await placeInstance(hosts, 'i-1', spec, { maxAttempts: 3, claim: async (c) => { claims.push(c); return true; } });
    expect(s).toEqual({ instance_uuid: 'i-1', host: 'b', node: 'b.node', alternates: ['c', 'a'] });
    expect(claims).toEqual([{ consumer_uuid: 'i-1', host: 'b', vcpus: 1, memory_mb: 512, disk_gb: 1 }]);
    expect(hosts[1].used.memory_mb).toBe(8192 - 4096 + 512);
  });

  it('moves on to the next host when a claim loses its race, and counts the lost host without room for that size', async () => {
    const hosts = [host('a', 4096), host('b', 2048)];
    const s = await placeInstance(hosts, 'i-1', spec, { maxAttempts: 3, claim: async (c) => c.host !== 'a' });
    expect(s.host).toBe('b');
    expect(s.alternates).toEqual([]);
    // Less room on a than m1.tiny asks for, in each resource it asks for; b holds the claim made.
    expect(freeResources(hosts[0])).toEqual({ vcpus: 0, memory_mb: 511, disk_gb: 0 });
    expect(hosts[1].used.memory_mb).toBe(8192 - 2048 + 512);
    // A later instance of that size skips a, with no claim asked there.
    const asked: string[] = [];
    await placeInstance(hosts, 'i-2', spec, { maxAttempts: 3, claim: async (c) => { asked.push(c.host); return true; } });
    expect(asked).toEqual(['b']);
  });

  it('a claim that fails (not refused) leaves the host as it was read, and the error goes up', async () => {
    const hosts = [host('a', 4096)];
    await expect(placeInstance(hosts, 'i-1', spec, { maxAttempts: 3, claim: async () => { throw new Error('connection reset'); } })).rejects.toThrow('connection reset');
    expect(hosts[0].used).toEqual({ vcpus: 0, memory_mb: 8192 - 4096, disk_gb: 0 });
  });

  it('throws NoValidHost with Nova\'s message when no host passes or every claim loses', async () => {
    const full = [host('a', 100)];
    const err = await placeInstance(full, 'i-1', spec, { maxAttempts: 3, claim: async () => true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoValidHost);
    expect((err as NoValidHost).message).toBe('No valid host was found. There are not enough hosts available.');
    expect((err as NoValidHost).details).toMatchObject({ rejected_by: [{ filter: 'RamFilter', hosts: ['a'] }] });
    await expect(placeInstance([host('a', 4096)], 'i-1', spec, { maxAttempts: 3, claim: async () => false })).rejects.toThrow(NoValidHost);
  });

  it('returns the host an instance already holds a claim on, without claiming again', async () => {
    const claim = jest.fn(async () => true);
    const s = await placeInstance([host('a', 4096), host('b', 100), host('c', 2048)], 'i-1', spec, { maxAttempts: 3, claim, heldHost: 'b' });
    expect(s).toEqual({ instance_uuid: 'i-1', host: 'b', node: 'b.node', alternates: ['a', 'c'] });
    expect(claim).not.toHaveBeenCalled();
  });
});

describe('placeInstance on shared host states', () => {
  it('spreads placements weighed while an earlier one still waits for its claim: each sees the room the others took', async () => {
    const hosts = [host('a', 1024), host('b', 1024), host('c', 1024)];
    // Every claim waits until all three placements have weighed.
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const claim = async () => { await gate; return true; };
    const placed = Promise.all(['i-1', 'i-2', 'i-3'].map((uuid) => placeInstance(hosts, uuid, spec, { maxAttempts: 1, claim })));
    release();
    expect((await placed).map((s) => s.host).sort()).toEqual(['a', 'b', 'c']);
    expect(hosts.map((h) => h.used.memory_mb)).toEqual([8192 - 1024 + 512, 8192 - 1024 + 512, 8192 - 1024 + 512]);
  });
});
