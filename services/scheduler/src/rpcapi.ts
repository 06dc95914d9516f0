// Client side of the scheduler topic. Callers use this class; they never build envelopes by hand.
//
// Version history:
//   1.0  schedule_and_build_instances (cast), select_destinations (call)
import type { InstanceFlavor } from '@ferry/common/db';
import { RpcClient, type RequestContext, type Transport } from '@ferry/common/rpc';

export const SCHEDULER_TOPIC = 'scheduler';
export const SCHEDULER_RPC_VERSION = '1.0';

/** What is to be placed, and under which constraints. */
export interface RequestSpec {
  flavor: InstanceFlavor;
  image_ref: string;
  project_id: string;
  /** Only hosts in this zone (null/undefined: any). */
  availability_zone?: string | null;
  /** Place only on these hosts (admin's forced host, or a move's target). */
  force_hosts?: string[];
  /** Never place on these hosts (a move's source, hosts that already failed this build). */
  ignore_hosts?: string[];
  /** Hosts tried so far for this instance (1 on the first try). */
  num_attempts?: number;
}

/** One claimed host for one instance, plus the hosts to try next if it fails. */
export interface Selection {
  instance_uuid: string;
  host: string;
  node: string;
  /** Other hosts that passed the filters, best first (not claimed). */
  alternates: string[];
}

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
