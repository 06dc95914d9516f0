// How a hypervisor looks at each microversion: integer ids until 2.52 and uuids from 2.53; cpu_info a
// JSON string until 2.27 and an object from 2.28; `servers` listed on request, always present from 2.75.
import { versionIn, type ApiVersion } from '../../http/microversion';
import type { ServiceRow } from '../services/service-rows';
import type { HostedServer, NodeUsage } from './nodes';

export interface HypervisorViewOptions {
  detail: boolean;
  /** The servers to list, when the request asked for them. */
  servers?: HostedServer[];
  /** The request asked for servers (from 2.75 an empty host then shows `servers: []`). */
  withServers?: boolean;
}

export function hypervisorId(node: NodeUsage, v: ApiVersion): number | string {
  return versionIn(v, '2.53') ? node.uuid : node.id;
}

export function hypervisorView(node: NodeUsage, svc: ServiceRow, v: ApiVersion, opts: HypervisorViewOptions) {
  const uuids = versionIn(v, '2.53');
  const view: Record<string, unknown> = {
    id: hypervisorId(node, v),
    hypervisor_hostname: node.hypervisor_hostname,
    state: svc.state,
    status: svc.disabled ? 'disabled' : 'enabled',
  };
  if (opts.detail) Object.assign(view, detailFields(node, svc, v, uuids));
  if (opts.servers?.length) view.servers = opts.servers;
  else if (opts.withServers && versionIn(v, '2.75')) view.servers = [];
  return view;
}

function detailFields(node: NodeUsage, svc: ServiceRow, v: ApiVersion, uuids: boolean) {
  const cpuInfo = { model: node.cpu_model };
  const freeDisk = node.local_gb - node.local_gb_used;
  return {
    hypervisor_type: node.hypervisor_type,
    hypervisor_version: node.hypervisor_version,
    host_ip: node.host_ip,
    service: { id: uuids ? svc.uuid : svc.id, host: node.host, disabled_reason: svc.disabled_reason },
    vcpus: node.vcpus,
    memory_mb: node.memory_mb,
    local_gb: node.local_gb,
    vcpus_used: node.vcpus_used,
    memory_mb_used: node.memory_mb_used,
    local_gb_used: node.local_gb_used,
    free_ram_mb: node.memory_mb - node.memory_mb_used,
    free_disk_gb: freeDisk,
    current_workload: node.current_workload,
    running_vms: node.running_vms,
    disk_available_least: freeDisk,
    cpu_info: versionIn(v, '2.28') ? cpuInfo : JSON.stringify(cpuInfo),
  };
}

/** GET /os-hypervisors/statistics: totals over nodes whose compute service is enabled (as Nova sums them). */
export function statisticsView(nodes: NodeUsage[]) {
  const sum = (f: (n: NodeUsage) => number) => nodes.reduce((acc, n) => acc + f(n), 0);
  return {
    hypervisor_statistics: {
      count: nodes.length,
      vcpus: sum((n) => n.vcpus),
      memory_mb: sum((n) => n.memory_mb),
      local_gb: sum((n) => n.local_gb),
      vcpus_used: sum((n) => n.vcpus_used),
      memory_mb_used: sum((n) => n.memory_mb_used),
      local_gb_used: sum((n) => n.local_gb_used),
      free_ram_mb: sum((n) => n.memory_mb - n.memory_mb_used),
      free_disk_gb: sum((n) => n.local_gb - n.local_gb_used),
      current_workload: sum((n) => n.current_workload),
      running_vms: sum((n) => n.running_vms),
      disk_available_least: sum((n) => n.local_gb - n.local_gb_used),
    },
  };
}
