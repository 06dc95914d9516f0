// The one compute method the scheduler casts. The compute package depends on this one (for RequestSpec), so
// the scheduler cannot import ComputeRpcApi; ComputeManager implements ComputeBuildEndpoint too, which keeps
// this declaration and the compute's real endpoint one contract (a rename breaks the build).
import { RpcClient, type RequestContext, type Transport } from '@ferry/common/rpc';
import type { RequestSpec } from './rpcapi';

export const COMPUTE_BUILD_TARGET = Object.freeze({ topic: 'compute', version: '1.0' });

export interface ComputeBuildEndpoint {
  build_and_run_instance(ctx: RequestContext, args: { instance_uuid: string; request_spec: RequestSpec; alternates: string[] }): Promise<void>;
}

export class ComputeBuildClient {
  private readonly client: RpcClient<ComputeBuildEndpoint>;

  constructor(transport: Transport, opts: { timeoutMs?: number } = {}) {
    this.client = new RpcClient<ComputeBuildEndpoint>(transport, COMPUTE_BUILD_TARGET, opts);
  }

  buildAndRunInstance(ctx: RequestContext, host: string, instanceUuid: string, requestSpec: RequestSpec, alternates: string[]): Promise<void> {
    return this.client.prepare({ server: host }).cast(ctx, 'build_and_run_instance', { instance_uuid: instanceUuid, request_spec: requestSpec, alternates });
  }
}
