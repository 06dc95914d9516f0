// ComputeFilter: only hosts whose compute service is up (fresh heartbeat, not forced down) and enabled.
import type { HostFilter } from './host-filter';

export const computeFilter: HostFilter = {
  name: 'ComputeFilter',
  passes: (host) => host.service !== undefined && host.service.state === 'up' && !host.service.disabled,
};
