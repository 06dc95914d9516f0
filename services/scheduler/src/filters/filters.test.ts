import type { InstanceFlavor } from '@ferry/common/db';
import type { HostState } from '../host-state';
import type { RequestSpec } from '../client/rpcapi';
import { availabilityZoneFilter } from './availability-zone-filter';
import { computeFilter } from './compute-filter';
import { forceHostsFilter, ignoreHostsFilter } from './host-list-filter';
import { DEFAULT_FILTERS, runFilters, type FilterRequest } from './index';
import { coreFilter, diskFilter, ramFilter } from './resource-filters';

const SMALL: InstanceFlavor = { id: 2, flavorid: '2', name: 'm1.small', vcpus: 1, memory_mb: 2048, root_gb: 20, ephemeral_gb: 0, swap: 0, extra_specs: {} };

function host(name: string, over: Partial<HostState> = {}): HostState {
  return {
    host: name, node: name, availability_zone: 'nova',
    service: { host: name, binary: 'ferry-compute', topic: 'compute', disabled: false, forced_down: false, last_seen_up: new Date(), state: 'up', heartbeat_age_s: 1 },
    capacity: { vcpus: 16, memory_mb: 8192, disk_gb: 100 },
    used: { vcpus: 0, memory_mb: 0, disk_gb: 0 },
    ...over,
  };
}

function request(spec: Partial<RequestSpec> = {}, resources = { vcpus: 1, memory_mb: 2048, disk_gb: 20 }): FilterRequest {
  return { spec: { flavor: SMALL, image_ref: 'cirros', project_id: 'p', ...spec }, resources };
}

describe('scheduler filters', () => {
  it('ComputeFilter keeps hosts whose service is up and enabled', () => {
    const up = host('a');
    expect(computeFilter.passes(up, request())).toBe(true);
    expect(computeFilter.passes(host('b', { service: { ...up.service!, state: 'down' } }), request())).toBe(false);
    expect(computeFilter.passes(host('c', { service: { ...up.service!, disabled: true } }), request())).toBe(false);
    expect(computeFilter.passes(host('d', { service: undefined }), request())).toBe(false);
  });

  it.each([
    ['RamFilter', ramFilter, { memory_mb: 6144 }, { memory_mb: 6145 }],
    ['DiskFilter', diskFilter, { disk_gb: 80 }, { disk_gb: 81 }],
    ['CoreFilter', coreFilter, { vcpus: 15 }, { vcpus: 16 }],
  ] as const)('%s passes while the flavor still fits, counting what is allocated', (_name, filter, fits, full) => {
    expect(filter.passes(host('a', { used: { vcpus: 0, memory_mb: 0, disk_gb: 0, ...fits } }), request())).toBe(true);
    expect(filter.passes(host('a', { used: { vcpus: 0, memory_mb: 0, disk_gb: 0, ...full } }), request())).toBe(false);
  });

  it('resource filters ignore a resource the flavor does not use', () => {
    const overcommitted = host('a', { used: { vcpus: 0, memory_mb: 0, disk_gb: 500 } });
    expect(diskFilter.passes(overcommitted, request({}, { vcpus: 1, memory_mb: 512, disk_gb: 0 }))).toBe(true);
  });

  it('AvailabilityZoneFilter keeps hosts of the requested zone, any zone when none is asked', () => {
    const az1 = host('a', { availability_zone: 'az1' });
    expect(availabilityZoneFilter.passes(az1, request({ availability_zone: 'az1' }))).toBe(true);
    expect(availabilityZoneFilter.passes(az1, request({ availability_zone: 'az2' }))).toBe(false);
    expect(availabilityZoneFilter.passes(az1, request({ availability_zone: null }))).toBe(true);
    expect(availabilityZoneFilter.passes(az1, request())).toBe(true);
  });

  it('force_hosts keeps only the listed hosts; ignore_hosts removes the listed ones', () => {
    expect(forceHostsFilter.passes(host('a'), request({ force_hosts: ['a'] }))).toBe(true);
    expect(forceHostsFilter.passes(host('b'), request({ force_hosts: ['a'] }))).toBe(false);
    expect(forceHostsFilter.passes(host('b'), request({ force_hosts: [] }))).toBe(true);
    expect(ignoreHostsFilter.passes(host('a'), request({ ignore_hosts: ['a'] }))).toBe(false);
    expect(ignoreHostsFilter.passes(host('b'), request({ ignore_hosts: ['a'] }))).toBe(true);
  });

  it('runFilters applies every filter and says which removed which host', () => {
    const hosts = [
      host('ok'), host('full', { used: { vcpus: 0, memory_mb: 8192, disk_gb: 0 } }), host('elsewhere', { availability_zone: 'az9' }),
      host('ignored'),
    ];
    const outcome = runFilters(hosts, request({ ignore_hosts: ['ignored'], availability_zone: 'nova' }));
    expect(outcome.passed.map((h) => h.host)).toEqual(['ok']);
    expect(outcome.rejected).toEqual([
      { filter: 'IgnoreHostsFilter', hosts: ['ignored'] },
      { filter: 'AvailabilityZoneFilter', hosts: ['elsewhere'] },
      { filter: 'RamFilter', hosts: ['full'] },
    ]);
  });

  it('has one default filter per rule, with unique names', () => {
    const names = DEFAULT_FILTERS.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(['ForceHostsFilter', 'IgnoreHostsFilter', 'AvailabilityZoneFilter', 'ComputeFilter', 'RamFilter', 'DiskFilter', 'CoreFilter']);
  });
});
