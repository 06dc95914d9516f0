// Client side of the compute topic: every method is sent to the host that runs (or will run) the instance.
//
// Version history:
//   1.0  build_and_run_instance, stop_instance, start_instance, reboot_instance, pause_instance,
//        unpause_instance, terminate_instance (all casts)
//   1.1  cold migration and resize: prep_resize, resize_instance, finish_resize, confirm_resize, revert_resize,
//        finish_revert_resize, cleanup_incoming (all casts)
//   1.2  live migration: check_can_live_migrate_destination (cast), check_can_live_migrate_source (call),
//        live_migration (cast), pre_live_migration (call), post_live_migration_at_destination (call),
//        rollback_live_migration_at_destination (call), live_migration_abort, live_migration_force_complete (casts)
//   1.3  rescue_instance, unrescue_instance (casts)
//   1.4  suspend_instance, resume_instance (casts)
//   1.5  get_host_uptime (call)
//   1.6  get_instance_presence (call): what a host's driver has of a guest, asked before a source resumes its copy
//   1.7  list_guests (call): every instance the host's driver holds anything of, for `ferry audit`; read only
//   1.8  cleanup_guest (call): one idempotent step of the API's `cleanup` on this host's copy of a guest
//   1.9  rebuild_instance (cast): the destination of an evacuation rebuilds the guest of a down host
import { PinnedClient, type RequestContext, type Transport, type VersionPins } from '@ferry/common/rpc';
import type { InstanceFlavor } from '@ferry/common/db';
import type { RequestSpec } from '@ferry/common/domain';
import type { CleanupStepRequest } from './cleanup-step';
import type { GuestPresence, HostGuest, MigrationCookie, RebootType } from './wire-types';

export const COMPUTE_TOPIC = 'compute';
/** The newest version: what a compute service implements. */
export const COMPUTE_RPC_VERSION = '1.9';

interface InstanceArgs {
  instance_uuid: string;
}

interface MigrationArgs {
  migration_id: number;
}

export type ColdMigrationType = 'migration' | 'resize';

/** What the scheduler hands the claimed destination of a cold move (and a failed destination its alternate). */
export interface PrepResizeRequest {
  instance_uuid: string;
  migration_type: ColdMigrationType;
  /** The flavor the instance has after the move (its current one for a plain migration). */
  new_flavor: InstanceFlavor;
  request_spec: RequestSpec;
  /** Hosts to try next if this one cannot take the instance (not claimed). */
  alternates: string[];
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
  /** Save the guest's memory and stop it (task suspending → vm suspended). */
  suspend_instance(ctx: RequestContext, args: InstanceArgs): Promise<void>;
  /** Restore a suspended guest (task resuming → vm active). */
  resume_instance(ctx: RequestContext, args: InstanceArgs): Promise<void>;
  /** (call) The host's `uptime` line, for os-hypervisors/{id}/uptime; takes no arguments. */
  get_host_uptime(ctx: RequestContext, args: Record<string, never>): Promise<string>;
  /**
   * Destroy the VM and its disks, free the claim, mark the instance deleted. A move in progress is stopped first; the
   * move's other host gets the same message and drops only its own copy and claim.
   */
  terminate_instance(ctx: RequestContext, args: InstanceArgs): Promise<void>;

  // Cold migration and resize (see DESIGN.md): D = destination, S = source.
  /** On D, claimed by the scheduler: check, create the migration record, proxy to S; else reschedule. */
  prep_resize(ctx: RequestContext, args: PrepResizeRequest): Promise<void>;
  /** On S: copy the disk while the guest runs, power off, copy what changed, hand the instance to D. */
  resize_instance(ctx: RequestContext, args: MigrationArgs): Promise<void>;
  /** On D: define the guest from the DB on the copied disk, start it (unless it was stopped): VERIFY_RESIZE. */
  finish_resize(ctx: RequestContext, args: MigrationArgs): Promise<void>;
  /** On S: destroy the source copy and free the source claim. */
  confirm_resize(ctx: RequestContext, args: MigrationArgs): Promise<void>;
  /** On D: destroy the destination copy, free the destination claim, pass the revert to S. */
  revert_resize(ctx: RequestContext, args: MigrationArgs): Promise<void>;
  /** On S: back to the old flavor and host; power the source copy on if it ran before. */
  finish_revert_resize(ctx: RequestContext, args: MigrationArgs): Promise<void>;
  /** On D: drop what a move that failed before finishing left here (disk copied in, claim). */
  cleanup_incoming(ctx: RequestContext, args: MigrationArgs): Promise<void>;

  // Live migration (see DESIGN.md): the scheduler claimed D; D checks, then the source S drives the five phases.
  /** On D: destination checks (CPU model, storage, capacity), ask S, then queue the migration on S; else the next alternate. */
  check_can_live_migrate_destination(ctx: RequestContext, args: MigrationArgs & { alternates: string[]; num_attempts: number }): Promise<void>;
  /** On S (call): the instance can leave (state, capabilities); throws a typed error when it cannot. */
  check_can_live_migrate_source(ctx: RequestContext, args: MigrationArgs): Promise<{ ok: true }>;
  /** On S: wait for a slot (max_concurrent_live_migrations), then Begin, Prepare on D, Perform, monitor, Finish, Confirm. */
  live_migration(ctx: RequestContext, args: MigrationArgs): Promise<void>;
  /** On D (call), Prepare: start the incoming VM paused; returns D's cookie. */
  pre_live_migration(ctx: RequestContext, args: MigrationArgs & { cookie: MigrationCookie }): Promise<MigrationCookie>;
  /** On D (call), Finish with success: the VM takes over here and the database names D. */
  post_live_migration_at_destination(ctx: RequestContext, args: MigrationArgs & { cookie: MigrationCookie }): Promise<MigrationCookie>;
  /** On D (call), Finish with failure: kill the incoming VM, free D's claim. */
  rollback_live_migration_at_destination(ctx: RequestContext, args: MigrationArgs): Promise<void>;
  /** On either host (call): what its driver has of the guest now; read only, safe to repeat. */
  get_instance_presence(ctx: RequestContext, args: InstanceArgs): Promise<{ presence: GuestPresence }>;
  /** On any host (call): every instance its driver holds anything of (VM, incoming VM, disk only); read only. */
  list_guests(ctx: RequestContext, args: Record<string, never>): Promise<{ guests: HostGuest[] }>;
  /** On any host (call): one step of `cleanup` (destroy a stale copy, rename back, resume, write a definition). */
  cleanup_guest(ctx: RequestContext, args: CleanupStepRequest): Promise<{ presence: GuestPresence; changed: boolean }>;
  /** On S: cancel the running job (or a queued/preparing one). */
  live_migration_abort(ctx: RequestContext, args: MigrationArgs): Promise<void>;
  /** On S: complete the running job now (post-copy if permitted, else pause the guest). */
  live_migration_force_complete(ctx: RequestContext, args: MigrationArgs): Promise<void>;

  /** On the destination of an evacuation (claimed by the scheduler): rebuild the guest here, take host and claims, record done. */
  rebuild_instance(ctx: RequestContext, args: MigrationArgs): Promise<void>;

  /** Boot the instance from a rescue image, its disk attached (task rescuing → vm rescued). */
  rescue_instance(ctx: RequestContext, args: InstanceArgs & { rescue_image_ref: string }): Promise<void>;
  /** Rebuild the instance's definition from the database and boot it (task unrescuing → vm active). */
  unrescue_instance(ctx: RequestContext, args: InstanceArgs): Promise<void>;
}

/** The version each method is sent at: where its signature last changed (the history above). */
export const COMPUTE_METHOD_VERSIONS: VersionPins<ComputeEndpoint> = {
  build_and_run_instance: '1.0', stop_instance: '1.0', start_instance: '1.0', reboot_instance: '1.0', pause_instance: '1.0',
  unpause_instance: '1.0', terminate_instance: '1.0',
  prep_resize: '1.1', resize_instance: '1.1', finish_resize: '1.1', confirm_resize: '1.1', revert_resize: '1.1', finish_revert_resize: '1.1',
  cleanup_incoming: '1.1',
  check_can_live_migrate_destination: '1.2', check_can_live_migrate_source: '1.2', live_migration: '1.2', pre_live_migration: '1.2',
  post_live_migration_at_destination: '1.2', rollback_live_migration_at_destination: '1.2', live_migration_abort: '1.2',
  live_migration_force_complete: '1.2',
  rescue_instance: '1.3', unrescue_instance: '1.3',
  suspend_instance: '1.4', resume_instance: '1.4',
  get_host_uptime: '1.5',
  get_instance_presence: '1.6',
  list_guests: '1.7',
  cleanup_guest: '1.8',
  rebuild_instance: '1.9',
};

export class ComputeRpcApi {
  private readonly client: PinnedClient<ComputeEndpoint>;

  /** `versionCap`: the newest version to send (FERRY_UPGRADE_LEVELS_COMPUTE), while older computes still run. */
  constructor(transport: Transport, opts: { timeoutMs?: number; versionCap?: string } = {}) {
    this.client = new PinnedClient<ComputeEndpoint>(transport, {
      topic: COMPUTE_TOPIC, pins: COMPUTE_METHOD_VERSIONS, capSetting: 'FERRY_UPGRADE_LEVELS_COMPUTE',
      ...(opts.versionCap !== undefined ? { cap: opts.versionCap } : {}), ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    });
  }

  /** Throws RpcVersionCapped (a 409 naming the cap) when method may not be sent under the version cap. */
  checkSendable(method: keyof ComputeEndpoint): void {
    this.client.versionOf(method);
  }

  buildAndRunInstance(ctx: RequestContext, host: string, instanceUuid: string, requestSpec: RequestSpec, alternates: string[]): Promise<void> {
    return this.client.cast(ctx, 'build_and_run_instance', { instance_uuid: instanceUuid, request_spec: requestSpec, alternates }, { server: host });
  }

  stopInstance(ctx: RequestContext, host: string, instanceUuid: string): Promise<void> {
    return this.client.cast(ctx, 'stop_instance', { instance_uuid: instanceUuid }, { server: host });
  }

  startInstance(ctx: RequestContext, host: string, instanceUuid: string): Promise<void> {
    return this.client.cast(ctx, 'start_instance', { instance_uuid: instanceUuid }, { server: host });
  }

  rebootInstance(ctx: RequestContext, host: string, instanceUuid: string, rebootType: RebootType): Promise<void> {
    return this.client.cast(ctx, 'reboot_instance', { instance_uuid: instanceUuid, reboot_type: rebootType }, { server: host });
  }

  pauseInstance(ctx: RequestContext, host: string, instanceUuid: string): Promise<void> {
    return this.client.cast(ctx, 'pause_instance', { instance_uuid: instanceUuid }, { server: host });
  }

  unpauseInstance(ctx: RequestContext, host: string, instanceUuid: string): Promise<void> {
    return this.client.cast(ctx, 'unpause_instance', { instance_uuid: instanceUuid }, { server: host });
  }

  suspendInstance(ctx: RequestContext, host: string, instanceUuid: string): Promise<void> {
    return this.client.cast(ctx, 'suspend_instance', { instance_uuid: instanceUuid }, { server: host });
  }

  resumeInstance(ctx: RequestContext, host: string, instanceUuid: string): Promise<void> {
    return this.client.cast(ctx, 'resume_instance', { instance_uuid: instanceUuid }, { server: host });
  }

  /** A quick question: the caller may give it a shorter timeout than the moves' calls. */
  getHostUptime(ctx: RequestContext, host: string, timeoutMs?: number): Promise<string> {
    return this.client.call(ctx, 'get_host_uptime', {}, { server: host, ...(timeoutMs ? { timeoutMs } : {}) });
  }

  terminateInstance(ctx: RequestContext, host: string, instanceUuid: string): Promise<void> {
    return this.client.cast(ctx, 'terminate_instance', { instance_uuid: instanceUuid }, { server: host });
  }

  prepResize(ctx: RequestContext, host: string, req: PrepResizeRequest): Promise<void> {
    return this.client.cast(ctx, 'prep_resize', req, { server: host });
  }

  resizeInstance(ctx: RequestContext, host: string, migrationId: number): Promise<void> {
    return this.client.cast(ctx, 'resize_instance', { migration_id: migrationId }, { server: host });
  }

  finishResize(ctx: RequestContext, host: string, migrationId: number): Promise<void> {
    return this.client.cast(ctx, 'finish_resize', { migration_id: migrationId }, { server: host });
  }

  confirmResize(ctx: RequestContext, host: string, migrationId: number): Promise<void> {
    return this.client.cast(ctx, 'confirm_resize', { migration_id: migrationId }, { server: host });
  }

  revertResize(ctx: RequestContext, host: string, migrationId: number): Promise<void> {
    return this.client.cast(ctx, 'revert_resize', { migration_id: migrationId }, { server: host });
  }

  finishRevertResize(ctx: RequestContext, host: string, migrationId: number): Promise<void> {
    return this.client.cast(ctx, 'finish_revert_resize', { migration_id: migrationId }, { server: host });
  }

  cleanupIncoming(ctx: RequestContext, host: string, migrationId: number): Promise<void> {
    return this.client.cast(ctx, 'cleanup_incoming', { migration_id: migrationId }, { server: host });
  }

  checkCanLiveMigrateDestination(ctx: RequestContext, host: string, migrationId: number, alternates: string[], numAttempts: number): Promise<void> {
    return this.client.cast(ctx, 'check_can_live_migrate_destination', { migration_id: migrationId, alternates, num_attempts: numAttempts }, { server: host });
  }

  checkCanLiveMigrateSource(ctx: RequestContext, host: string, migrationId: number): Promise<{ ok: true }> {
    return this.client.call(ctx, 'check_can_live_migrate_source', { migration_id: migrationId }, { server: host });
  }

  liveMigration(ctx: RequestContext, host: string, migrationId: number): Promise<void> {
    return this.client.cast(ctx, 'live_migration', { migration_id: migrationId }, { server: host });
  }

  preLiveMigration(ctx: RequestContext, host: string, migrationId: number, cookie: MigrationCookie): Promise<MigrationCookie> {
    return this.client.call(ctx, 'pre_live_migration', { migration_id: migrationId, cookie }, { server: host });
  }

  postLiveMigrationAtDestination(ctx: RequestContext, host: string, migrationId: number, cookie: MigrationCookie): Promise<MigrationCookie> {
    return this.client.call(ctx, 'post_live_migration_at_destination', { migration_id: migrationId, cookie }, { server: host });
  }

  rollbackLiveMigrationAtDestination(ctx: RequestContext, host: string, migrationId: number): Promise<void> {
    return this.client.call(ctx, 'rollback_live_migration_at_destination', { migration_id: migrationId }, { server: host });
  }

  getInstancePresence(ctx: RequestContext, host: string, instanceUuid: string): Promise<{ presence: GuestPresence }> {
    return this.client.call(ctx, 'get_instance_presence', { instance_uuid: instanceUuid }, { server: host });
  }

  /** A quick question, like getHostUptime. */
  listGuests(ctx: RequestContext, host: string, timeoutMs?: number): Promise<{ guests: HostGuest[] }> {
    return this.client.call(ctx, 'list_guests', {}, { server: host, ...(timeoutMs ? { timeoutMs } : {}) });
  }

  cleanupGuest(ctx: RequestContext, host: string, step: CleanupStepRequest, timeoutMs?: number): Promise<{ presence: GuestPresence; changed: boolean }> {
    return this.client.call(ctx, 'cleanup_guest', { ...step }, { server: host, ...(timeoutMs ? { timeoutMs } : {}) });
  }

  liveMigrationAbort(ctx: RequestContext, host: string, migrationId: number): Promise<void> {
    return this.client.cast(ctx, 'live_migration_abort', { migration_id: migrationId }, { server: host });
  }

  liveMigrationForceComplete(ctx: RequestContext, host: string, migrationId: number): Promise<void> {
    return this.client.cast(ctx, 'live_migration_force_complete', { migration_id: migrationId }, { server: host });
  }

  rebuildInstance(ctx: RequestContext, host: string, migrationId: number): Promise<void> {
    return this.client.cast(ctx, 'rebuild_instance', { migration_id: migrationId }, { server: host });
  }

  rescueInstance(ctx: RequestContext, host: string, instanceUuid: string, rescueImageRef: string): Promise<void> {
    return this.client.cast(ctx, 'rescue_instance', { instance_uuid: instanceUuid, rescue_image_ref: rescueImageRef }, { server: host });
  }

  unrescueInstance(ctx: RequestContext, host: string, instanceUuid: string): Promise<void> {
    return this.client.cast(ctx, 'unrescue_instance', { instance_uuid: instanceUuid }, { server: host });
  }
}
