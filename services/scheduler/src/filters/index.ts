// The filters every placement runs, in order, and the pass that applies them.
import type { HostState } from '../host-state';
import { availabilityZoneFilter } from './availability-zone-filter';
import { computeFilter } from './compute-filter';
import type { FilterRequest, HostFilter } from './host-filter';
import { forceHostsFilter, ignoreHostsFilter } from './host-list-filter';
import { coreFilter, diskFilter, ramFilter } from './resource-filters';

export type { FilterRequest, HostFilter } from './host-filter';

/** Cheap, request-only filters first, so the log says "ignored" rather than "full" for an excluded host. */
export const DEFAULT_FILTERS: readonly HostFilter[] = Object.freeze([
  forceHostsFilter, ignoreHostsFilter, availabilityZoneFilter, computeFilter, ramFilter, diskFilter, coreFilter,
]);

export interface FilterOutcome {
  passed: HostState[];
  /** How many hosts each filter removed, in filter order (filters that removed none are left out). */
  rejected: { filter: string; hosts: string[] }[];
}

export function runFilters(hosts: readonly HostState[], request: FilterRequest, filters: readonly HostFilter[] = DEFAULT_FILTERS): FilterOutcome {
  let passed = [...hosts];
  const rejected: FilterOutcome['rejected'] = [];
  for (const filter of filters) {
    const kept = passed.filter((h) => filter.passes(h, request));
    if (kept.length < passed.length) rejected.push({ filter: filter.name, hosts: passed.filter((h) => !kept.includes(h)).map((h) => h.host) });
    passed = kept;
  }
  return { passed, rejected };
}
