// Client side of the scheduler topic. Callers use this class; they never build envelopes by hand.
//
// Version history:
//   1.0  schedule_and_build_instances (cast), select_destinations (call)
//   1.1  migrate_server (cast)
//   1.2  live_migrate_server (cast)
//   1.3  evacuate_server (cast)
import type { InstanceFlavor } from '@ferry/common/db';
import type { RequestSpec, Selection } from '@ferry/common/domain';
import { PinnedClient, type RequestContext, type Transport, type VersionPins } from '@ferry/common/rpc';

export const SCHEDULER_TOPIC = 'scheduler';
/** The newest version: what a scheduler service implements. */
export const SCHEDULER_RPC_VERSION = '1.3';

export type { RequestSpec, Selection } from '@ferry/common/domain';

/** The scheduler's RPC endpoint, as seen by callers (the scheduler manager implements it). */
export interface SchedulerEndpoint {
  /** Select and claim a host for each instance, then cast build_and_run_instance to it; ERROR if none. */
  schedule_and_build_instances(ctx: RequestContext, args: { instance_uuids: string[]; request_spec: RequestSpec }): Promise<void>;
  /** Select and atomically claim a host for each instance; NoValidHost if any cannot be placed. */
  select_destinations(ctx: RequestContext, args: { instance_uuids: string[]; request_spec: RequestSpec }): Promise<Selection[]>;
  /** Claim a destination for a cold move and cast prep_resize to it; on NoValidHost the instance goes back to no task with a fault. */
  migrate_server(ctx: RequestContext, args: MigrateServerRequest): Promise<void>;
  /**
   * Claim a destination for the live migration the API recorded (status accepted; the requested host, if any, in
   * its migrate_data) and cast check_can_live_migrate_destination to it; on NoValidHost the record goes to error.
   */
  live_migrate_server(ctx: RequestContext, args: { migration_id: number }): Promise<void>;
  /**
   * Claim a destination for the evacuation the API recorded (status accepted; the requested host and force in its
   * migrate_data) and cast rebuild_instance to it; on NoValidHost the record goes to error and the server keeps its state.
   */
  evacuate_server(ctx: RequestContext, args: { migration_id: number }): Promise<void>;
}

/** A cold migration or resize the API accepted (the instance is in task resize_prep on its source host). */
export interface MigrateServerRequest {
  instance_uuid: string;
  migration_type: 'migration' | 'resize';
  /** The flavor after the move (the current one for a plain migration). */
  new_flavor: InstanceFlavor;
  /** The destination an admin asked for (migrate {host}); any suitable host when absent. */
  host?: string;
}

/** The version each method is sent at: where its signature last changed (the history above). */
export const SCHEDULER_METHOD_VERSIONS: VersionPins<SchedulerEndpoint> = {
  schedule_and_build_instances: '1.0', select_destinations: '1.0', migrate_server: '1.1', live_migrate_server: '1.2', evacuate_server: '1.3',
};

export class SchedulerRpcApi {
  private readonly client: PinnedClient<SchedulerEndpoint>;

  /** `versionCap`: the newest version to send (FERRY_UPGRADE_LEVELS_SCHEDULER), while older schedulers still run. */
  constructor(transport: Transport, opts: { timeoutMs?: number; versionCap?: string } = {}) {
    this.client = new PinnedClient<SchedulerEndpoint>(transport, {
      topic: SCHEDULER_TOPIC, pins: SCHEDULER_METHOD_VERSIONS, capSetting: 'FERRY_UPGRADE_LEVELS_SCHEDULER',
      ...(opts.versionCap !== undefined ? { cap: opts.versionCap } : {}), ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    });
  }

  scheduleAndBuildInstances(ctx: RequestContext, instanceUuids: string[], requestSpec: RequestSpec): Promise<void> {
    return this.client.cast(ctx, 'schedule_and_build_instances', { instance_uuids: instanceUuids, request_spec: requestSpec });
  }

  selectDestinations(ctx: RequestContext, instanceUuids: string[], requestSpec: RequestSpec): Promise<Selection[]> {
    return this.client.call(ctx, 'select_destinations', { instance_uuids: instanceUuids, request_spec: requestSpec });
  }

  migrateServer(ctx: RequestContext, req: MigrateServerRequest): Promise<void> {
    return this.client.cast(ctx, 'migrate_server', req);
  }

  liveMigrateServer(ctx: RequestContext, migrationId: number): Promise<void> {
    return this.client.cast(ctx, 'live_migrate_server', { migration_id: migrationId });
  }

  evacuateServer(ctx: RequestContext, migrationId: number): Promise<void> {
    return this.client.cast(ctx, 'evacuate_server', { migration_id: migrationId });
  }
}
