// The request's own host lists: force_hosts (only these) and ignore_hosts (never these).
import type { HostFilter } from './host-filter';

export const forceHostsFilter: HostFilter = {
  name: 'ForceHostsFilter',
  passes: (host, req) => !req.spec.force_hosts?.length || req.spec.force_hosts.includes(host.host),
};

export const ignoreHostsFilter: HostFilter = {
  name: 'IgnoreHostsFilter',
  passes: (host, req) => !req.spec.ignore_hosts?.includes(host.host),
};
