// The compute's RPC endpoint: each method hands over to the flow that implements it.
import type { RequestContext } from '@ferry/common/rpc';
import { buildAndRunInstance, type BuildRequest } from './build-instance/build-instance';
import {
  cleanupIncoming, confirmResize, finishResize, finishRevertResize, prepResize, resizeInstance, revertResize,
} from './cold-migration';
import {
  checkCanLiveMigrateDestination, checkCanLiveMigrateSource, liveMigrationAbort, liveMigrationForceComplete,
  postLiveMigrationAtDestination, preLiveMigration, rollbackLiveMigrationAtDestination, startLiveMigration,
} from './live-migration';
import type { GuestPresence, MigrationCookie } from './client/wire-types';
import type { ComputeContext } from './compute-context';
import { listGuests } from './audit/list-guests';
import type { HostGuest } from './client/wire-types';
import { runCleanupStep } from './cleanup/host-step';
import type { CleanupStepRequest } from './client/cleanup-step';
import { runPowerAction } from './instance-ops/power-actions';
import { rescueInstance, unrescueInstance } from './instance-ops/rescue';
import { rebuildInstance } from './evacuation/rebuild';
import { terminateInstance } from './instance-ops/terminate';
import { COMPUTE_RPC_VERSION, type ComputeEndpoint, type PrepResizeRequest } from './client/rpcapi';
import type { RebootType } from './client/wire-types';

interface InstanceArgs {
  instance_uuid: string;
}

interface MigrationArgs {
  migration_id: number;
}

export class ComputeManager implements ComputeEndpoint {
  readonly target: { version: string };

  /** `version`: the compute RPC version served (an older one stands for a compute of an earlier release). */
  constructor(private readonly c: ComputeContext, version: string = COMPUTE_RPC_VERSION) {
    this.target = { version };
  }

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

  suspend_instance(ctx: RequestContext, args: InstanceArgs): Promise<void> {
    return runPowerAction(this.c, ctx, 'suspend', args);
  }

  resume_instance(ctx: RequestContext, args: InstanceArgs): Promise<void> {
    return runPowerAction(this.c, ctx, 'resume', args);
  }

  get_host_uptime(_ctx: RequestContext, _args: Record<string, never>): Promise<string> {
    return this.c.driver.hostUptime();
  }

  terminate_instance(ctx: RequestContext, args: InstanceArgs): Promise<void> {
    return terminateInstance(this.c, ctx, args.instance_uuid);
  }

  prep_resize(ctx: RequestContext, args: PrepResizeRequest): Promise<void> {
    return prepResize(this.c, ctx, args);
  }

  resize_instance(ctx: RequestContext, args: MigrationArgs): Promise<void> {
    return resizeInstance(this.c, ctx, args.migration_id);
  }

  finish_resize(ctx: RequestContext, args: MigrationArgs): Promise<void> {
    return finishResize(this.c, ctx, args.migration_id);
  }

  confirm_resize(ctx: RequestContext, args: MigrationArgs): Promise<void> {
    return confirmResize(this.c, ctx, args.migration_id);
  }

  revert_resize(ctx: RequestContext, args: MigrationArgs): Promise<void> {
    return revertResize(this.c, ctx, args.migration_id);
  }

  finish_revert_resize(ctx: RequestContext, args: MigrationArgs): Promise<void> {
    return finishRevertResize(this.c, ctx, args.migration_id);
  }

  cleanup_incoming(ctx: RequestContext, args: MigrationArgs): Promise<void> {
    return cleanupIncoming(this.c, ctx, args.migration_id);
  }

  check_can_live_migrate_destination(ctx: RequestContext, args: MigrationArgs & { alternates: string[]; num_attempts: number }): Promise<void> {
    return checkCanLiveMigrateDestination(this.c, ctx, args);
  }

  check_can_live_migrate_source(_ctx: RequestContext, args: MigrationArgs): Promise<{ ok: true }> {
    return checkCanLiveMigrateSource(this.c, args.migration_id);
  }

  live_migration(ctx: RequestContext, args: MigrationArgs): Promise<void> {
    startLiveMigration(this.c, ctx, args.migration_id);
    return Promise.resolve();
  }

  pre_live_migration(ctx: RequestContext, args: MigrationArgs & { cookie: MigrationCookie }): Promise<MigrationCookie> {
    return preLiveMigration(this.c, ctx, args.migration_id, args.cookie);
  }

  post_live_migration_at_destination(ctx: RequestContext, args: MigrationArgs & { cookie: MigrationCookie }): Promise<MigrationCookie> {
    return postLiveMigrationAtDestination(this.c, ctx, args.migration_id, args.cookie);
  }

  rollback_live_migration_at_destination(ctx: RequestContext, args: MigrationArgs): Promise<void> {
    return rollbackLiveMigrationAtDestination(this.c, ctx, args.migration_id);
  }

  async get_instance_presence(_ctx: RequestContext, args: InstanceArgs): Promise<{ presence: GuestPresence }> {
    return { presence: await this.c.driver.guestPresence(args.instance_uuid) };
  }

  async list_guests(_ctx: RequestContext, _args: Record<string, never>): Promise<{ guests: HostGuest[] }> {
    return { guests: await listGuests(this.c.driver) };
  }

  cleanup_guest(_ctx: RequestContext, args: CleanupStepRequest): Promise<{ presence: GuestPresence; changed: boolean }> {
    return runCleanupStep(this.c, args);
  }

  live_migration_abort(ctx: RequestContext, args: MigrationArgs): Promise<void> {
    return liveMigrationAbort(this.c, ctx, args.migration_id);
  }

  live_migration_force_complete(ctx: RequestContext, args: MigrationArgs): Promise<void> {
    return liveMigrationForceComplete(this.c, ctx, args.migration_id);
  }

  rebuild_instance(ctx: RequestContext, args: MigrationArgs): Promise<void> {
    return rebuildInstance(this.c, ctx, args.migration_id);
  }

  rescue_instance(ctx: RequestContext, args: InstanceArgs & { rescue_image_ref: string }): Promise<void> {
    return rescueInstance(this.c, ctx, args.instance_uuid, args.rescue_image_ref);
  }

  unrescue_instance(ctx: RequestContext, args: InstanceArgs): Promise<void> {
    return unrescueInstance(this.c, ctx, args.instance_uuid);
  }
}
