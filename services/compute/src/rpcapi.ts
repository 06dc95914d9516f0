// Client side of the compute topic: every method is sent to the host that runs (or will run) the instance.
//
// Version history:
//   1.0  build_and_run_instance, stop_instance, start_instance, reboot_instance, pause_instance,
//        unpause_instance, terminate_instance (all casts)
import { RpcClient, type RequestContext, type Transport } from '@ferry/common/rpc';
import type { RequestSpec } from '@ferry/common/domain';

export const COMPUTE_TOPIC = 'compute';
export const COMPUTE_RPC_VERSION = '1.0';

export type RebootType = 'SOFT' | 'HARD';

interface InstanceArgs {
  instance_uuid: string;
}

/** The compute manager's RPC endpoint, as seen by callers. */
export interface ComputeEndpoint {
  /** Spawn on this host (claimed by the scheduler); on failure, release the claim and reschedule to an alternate. */
  build_and_run_instance(ctx: RequestContext, args: InstanceArgs & { request_spec: RequestSpec; alternates: string[] }): Promise<void>;
  stop_instance(ctx: RequestContext, args: InstanceArgs): Promise<void>;
  start_instance(ctx: RequestContext, args: InstanceArgs): Promise<void>;
  reboot_instance(ctx: RequestContext, args: InstanceArgs & { reboot_type: RebootType }): Promise<void>;
  pause_instance(ctx: RequestContext, args: InstanceArgs): Promise<void>;
  unpause_instance(ctx: RequestContext, args: InstanceArgs): Promise<void>;
  /** Destroy the VM and its disks, free the claim, mark the instance deleted. */
  terminate_instance(ctx: RequestContext, args: InstanceArgs): Promise<void>;
}

export class ComputeRpcApi {
  private readonly client: RpcClient<ComputeEndpoint>;

  constructor(transport: Transport, opts: { timeoutMs?: number } = {}) {
    this.client = new RpcClient<ComputeEndpoint>(transport, { topic: COMPUTE_TOPIC, version: COMPUTE_RPC_VERSION }, opts);
  }

  private on(host: string) {
    return this.client.prepare({ server: host });
  }

  buildAndRunInstance(ctx: RequestContext, host: string, instanceUuid: string, requestSpec: RequestSpec, alternates: string[]): Promise<void> {
    return this.on(host).cast(ctx, 'build_and_run_instance', { instance_uuid: instanceUuid, request_spec: requestSpec, alternates });
  }

  stopInstance(ctx: RequestContext, host: string, instanceUuid: string): Promise<void> {
    return this.on(host).cast(ctx, 'stop_instance', { instance_uuid: instanceUuid });
  }

  startInstance(ctx: RequestContext, host: string, instanceUuid: string): Promise<void> {
    return this.on(host).cast(ctx, 'start_instance', { instance_uuid: instanceUuid });
  }

  rebootInstance(ctx: RequestContext, host: string, instanceUuid: string, rebootType: RebootType): Promise<void> {
    return this.on(host).cast(ctx, 'reboot_instance', { instance_uuid: instanceUuid, reboot_type: rebootType });
  }

  pauseInstance(ctx: RequestContext, host: string, instanceUuid: string): Promise<void> {
    return this.on(host).cast(ctx, 'pause_instance', { instance_uuid: instanceUuid });
  }

  unpauseInstance(ctx: RequestContext, host: string, instanceUuid: string): Promise<void> {
    return this.on(host).cast(ctx, 'unpause_instance', { instance_uuid: instanceUuid });
  }

  terminateInstance(ctx: RequestContext, host: string, instanceUuid: string): Promise<void> {
    return this.on(host).cast(ctx, 'terminate_instance', { instance_uuid: instanceUuid });
  }
}
