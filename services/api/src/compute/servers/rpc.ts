// The RPC clients server routes cast through, and the request context a cast carries.
import type { RequestContext } from '@ferry/common/rpc';
import { ComputeRpcApi } from '@ferry/compute/client';
import { SchedulerRpcApi } from '@ferry/scheduler/client';
import type { ApiDeps } from '../../api-deps';
import type { ApiContext } from '../../http/api-context';

export interface ServerRpc {
  scheduler: SchedulerRpcApi;
  compute: ComputeRpcApi;
}

export function serverRpc(deps: ApiDeps): ServerRpc {
  const timeoutMs = deps.config.rpcTimeoutSeconds * 1000;
  return {
    scheduler: new SchedulerRpcApi(deps.transport, { timeoutMs, versionCap: deps.config.upgradeLevelsScheduler }),
    compute: new ComputeRpcApi(deps.transport, { timeoutMs, versionCap: deps.config.upgradeLevelsCompute }),
  };
}

/** Only what the services need to know about the caller; names and the admin flag stay in the API. */
export function rpcContext(ctx: ApiContext): RequestContext {
  return {
    request_id: ctx.request_id,
    ...(ctx.global_request_id ? { global_request_id: ctx.global_request_id } : {}),
    user_id: ctx.user_id,
    project_id: ctx.project_id,
    roles: [...ctx.roles],
  };
}
