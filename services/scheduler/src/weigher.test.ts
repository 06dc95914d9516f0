import { buildHostStates, type HostState } from './host-state';
import { weighHosts } from './weigher';

function host(name: string, freeRam: number, freeVcpus: number): HostState {
  return {
    host: name, node: name, availability_zone: 'nova', service: undefined,
    capacity: { vcpus: 32, memory_mb: 65536, disk_gb: 1000 },
    used: { vcpus: 32 - freeVcpus, memory_mb: 65536 - freeRam, disk_gb: 0 },
  };
}

describe('spreading weigher', () => {
  it('puts the most free RAM first, then the most free vCPUs, then the host name', () => {
    const hosts = [host('c', 1024, 4), host('b', 4096, 1), host('a', 1024, 4), host('d', 1024, 8)];
    expect(weighHosts(hosts).map((h) => h.host)).toEqual(['b', 'd', 'a', 'c']);
    expect(hosts.map((h) => h.host)).toEqual(['c', 'b', 'a', 'd']);
  });
});

describe('host state', () => {
  const node = {
    host: 'h1', node: 'h1.local', availability_zone: 'az1', vcpus: 8, memory_mb: 16384, local_gb: 100,
    reserved_vcpus: 0, reserved_memory_mb: 512, reserved_disk_gb: 10,
    cpu_allocation_ratio: 4, ram_allocation_ratio: 1.5, disk_allocation_ratio: 1,
    vcpus_used: 3, memory_mb_used: 2048, disk_gb_used: 20,
  };
  const now = new Date('2026-01-01T00:01:00Z');

  it('applies reserves and allocation ratios to capacity, as Placement does', () => {
    const [h] = buildHostStates([node], [], now, 30);
    expect(h.capacity).toEqual({ vcpus: 32, memory_mb: Math.floor((16384 - 512) * 1.5), disk_gb: 90 });
    expect(h.used).toEqual({ vcpus: 3, memory_mb: 2048, disk_gb: 20 });
    expect(h).toMatchObject({ host: 'h1', node: 'h1.local', availability_zone: 'az1', service: undefined });
  });

  it('attaches the compute service of the host, judged up or down at `now`', () => {
    const svc = { host: 'h1', binary: 'ferry-compute', topic: 'compute', disabled: false, forced_down: false, last_seen_up: new Date('2026-01-01T00:00:20Z') };
    const other = { ...svc, binary: 'ferry-scheduler', last_seen_up: now };
    const [h] = buildHostStates([node], [other, svc], now, 30);
    expect(h.service).toMatchObject({ binary: 'ferry-compute', state: 'down' });
    const [fresh] = buildHostStates([node], [{ ...svc, last_seen_up: now }], now, 30);
    expect(fresh.service!.state).toBe('up');
  });
});
