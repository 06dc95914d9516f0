// ComputeFilter: only hosts whose compute service is up (fresh heartbeat, not forced down) and enabled.
import type { HostState } from '../host-state';
import type { HostFilter } from './host-filter';

/** Whether the host's compute service could take work now. */
export function computeUsable(host: HostState): boolean {
  return host.service !== undefined && host.service.state === 'up' && !host.service.disabled;
}

export const computeFilter: HostFilter = {
  name: 'ComputeFilter',
  passes: (host) => computeUsable(host),
};
