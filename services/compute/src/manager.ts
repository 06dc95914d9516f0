// The compute's RPC endpoint: each method hands over to the flow that implements it.
import type { RequestContext } from '@ferry/common/rpc';
import { buildAndRunInstance, type BuildRequest } from './build/build-instance';
import type { ComputeContext } from './compute-context';
import { runPowerAction } from './instance-ops/power-actions';
import { terminateInstance } from './instance-ops/terminate';
import { COMPUTE_RPC_VERSION, type ComputeEndpoint, type RebootType } from './rpcapi';

interface InstanceArgs {
  instance_uuid: string;
}

export class ComputeManager implements ComputeEndpoint {
  readonly target = { version: COMPUTE_RPC_VERSION };

  constructor(private readonly c: ComputeContext) {}

  build_and_run_instance(ctx: RequestContext, args: BuildRequest): Promise<void> {
    return buildAndRunInstance(this.c, ctx, args);
  }

  stop_instance(ctx: RequestContext, args: InstanceArgs): Promise<void> {
    return runPowerAction(this.c, ctx, 'stop', args);
  }

  start_instance(ctx: RequestContext, args: InstanceArgs): Promise<void> {
    return runPowerAction(this.c, ctx, 'start', args);
  }

  reboot_instance(ctx: RequestContext, args: InstanceArgs & { reboot_type: RebootType }): Promise<void> {
    return runPowerAction(this.c, ctx, 'reboot', args);
  }

  pause_instance(ctx: RequestContext, args: InstanceArgs): Promise<void> {
    return runPowerAction(this.c, ctx, 'pause', args);
  }

  unpause_instance(ctx: RequestContext, args: InstanceArgs): Promise<void> {
    return runPowerAction(this.c, ctx, 'unpause', args);
  }

  terminate_instance(ctx: RequestContext, args: InstanceArgs): Promise<void> {
    return terminateInstance(this.c, ctx, args.instance_uuid);
  }
}
