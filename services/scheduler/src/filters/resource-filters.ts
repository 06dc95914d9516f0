// RamFilter, DiskFilter, CoreFilter: the host must have room for the flavor, allocation ratios applied.
import type { Resources } from '@ferry/common/db';
import { freeResources } from '../host-state';
import type { HostFilter } from './host-filter';

function roomFor(name: string, resource: keyof Resources): HostFilter {
  return {
    name,
    // A resource the flavor does not use (0) never excludes a host, as in the claim.
    passes: (host, req) => req.resources[resource] === 0 || freeResources(host)[resource] >= req.resources[resource],
  };
}

export const ramFilter = roomFor('RamFilter', 'memory_mb');
export const diskFilter = roomFor('DiskFilter', 'disk_gb');
export const coreFilter = roomFor('CoreFilter', 'vcpus');
