// GET /os-hypervisors/{id}/uptime: the host's own `uptime` line, asked of its compute service over RPC as Nova does.
import type { DataSource } from 'typeorm';
import { BadRequest } from '@ferry/common/domain';
import type { RequestContext } from '@ferry/common/rpc';
import type { ComputeRpcApi } from '@ferry/compute/client';
import type { ApiVersion } from '../../http/microversion';
import { findHypervisor, hypervisorPathId } from './show';
import { hypervisorView } from './views';

/** A compute that heartbeats but does not answer must not hold `openstack hypervisor show` for a move's RPC timeout. */
const UPTIME_TIMEOUT_MS = 10_000;

export interface UptimeEnv {
  ds: DataSource;
  downSeconds: number;
  rpcTimeoutMs: number;
  compute: ComputeRpcApi;
}

export async function hypervisorUptime(env: UptimeEnv, ctx: RequestContext, v: ApiVersion, raw: string) {
  const { node, svc } = await findHypervisor(env.ds, env.downSeconds, raw, hypervisorPathId(raw, v));
  // Nova's ComputeServiceUnavailable: a down (or forced down) service is not asked at all.
  if (svc.state !== 'up') throw new BadRequest(`Compute service of ${node.host} is unavailable at this time.`);
  const uptime = await env.compute.getHostUptime(ctx, node.host, Math.min(env.rpcTimeoutMs, UPTIME_TIMEOUT_MS));
  return { hypervisor: { ...hypervisorView(node, svc, v, { detail: false }), uptime } };
}
