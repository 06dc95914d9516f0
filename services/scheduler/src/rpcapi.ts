// Client side of the scheduler topic. Callers use this class; they never build envelopes by hand.
//
// Version history:
//   1.0  schedule_and_build_instances (cast), select_destinations (call)
import type { RequestSpec, Selection } from '@ferry/common/domain';
import { RpcClient, type RequestContext, type Transport } from '@ferry/common/rpc';

export const SCHEDULER_TOPIC = 'scheduler';
export const SCHEDULER_RPC_VERSION = '1.0';

export type { RequestSpec, Selection } from '@ferry/common/domain';

/** The scheduler's RPC endpoint, as seen by callers (the scheduler manager implements it). */
export interface SchedulerEndpoint {
  /** Select and claim a host for each instance, then cast build_and_run_instance to it; ERROR if none. */
  schedule_and_build_instances(ctx: RequestContext, args: { instance_uuids: string[]; request_spec: RequestSpec }): Promise<void>;
  /** Select and atomically claim a host for each instance; NoValidHost if any cannot be placed. */
  select_destinations(ctx: RequestContext, args: { instance_uuids: string[]; request_spec: RequestSpec }): Promise<Selection[]>;
}

export class SchedulerRpcApi {
  private readonly client: RpcClient<SchedulerEndpoint>;

  constructor(transport: Transport, opts: { timeoutMs?: number } = {}) {
    this.client = new RpcClient<SchedulerEndpoint>(transport, { topic: SCHEDULER_TOPIC, version: SCHEDULER_RPC_VERSION }, opts);
  }

  scheduleAndBuildInstances(ctx: RequestContext, instanceUuids: string[], requestSpec: RequestSpec): Promise<void> {
    return this.client.cast(ctx, 'schedule_and_build_instances', { instance_uuids: instanceUuids, request_spec: requestSpec });
  }

  selectDestinations(ctx: RequestContext, instanceUuids: string[], requestSpec: RequestSpec): Promise<Selection[]> {
    return this.client.call(ctx, 'select_destinations', { instance_uuids: instanceUuids, request_spec: requestSpec });
  }
}
