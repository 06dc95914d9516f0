// ComputeFilter: only hosts whose compute service is up (fresh heartbeat, not forced down) and enabled.
import { takesWork } from '@ferry/common/service';
import type { HostState } from '../host-state';
import type { HostFilter } from './host-filter';

/** Whether the host's compute service could take work now (the one rule, shared with a compute's retries). */
export function computeUsable(host: HostState): boolean {
  return takesWork(host.service);
}

export const computeFilter: HostFilter = {
  name: 'ComputeFilter',
  passes: (host) => computeUsable(host),
};
