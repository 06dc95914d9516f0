// The spreading weigher: most free RAM first, then most free vCPUs, then host name (so ties are stable).
import { freeResources, type HostState } from './host-state';

export function byMostFree(a: HostState, b: HostState): number {
  const fa = freeResources(a);
  const fb = freeResources(b);
  return fb.memory_mb - fa.memory_mb || fb.vcpus - fa.vcpus || (a.host < b.host ? -1 : a.host > b.host ? 1 : 0);
}

/** Hosts best first; the input is left as it was. */
export function weighHosts(hosts: readonly HostState[]): HostState[] {
  return [...hosts].sort(byMostFree);
}
