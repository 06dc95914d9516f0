// What every compute flow works with: the database, this host's driver and names, settings, the bus, a logger.
import type { FerryConfig } from '@ferry/common/config';
import type { Instance } from '@ferry/common/db';
import { guestName } from '@ferry/common/domain';
import type { Logger } from '@ferry/common/log';
import type { DataSource } from 'typeorm';
import type { Notifier } from '@ferry/common/notify';
import type { Driver, VmSpec } from './drivers';
import type { LiveMigrationsHere } from './live-migration/live-state';
import type { ComputeRpcApi } from './client/rpcapi';
import type { Transfer } from './transfer';

export type ComputeSettings = Pick<
  FerryConfig, 'schedulerMaxAttempts' | 'serviceDownSeconds' | 'powerSyncSeconds' | 'strayGraceSeconds' | 'reconcileMoveStepSeconds' | 'availabilityZone'
  | 'cpuAllocationRatio' | 'ramAllocationRatio' | 'diskAllocationRatio' | 'resizeConfirmWindowSeconds'
  | 'maxConcurrentLiveMigrations' | 'liveMigrationDowntimeMs' | 'liveMigrationDowntimeSteps' | 'liveMigrationDowntimeDelay'
  | 'liveMigrationCompletionTimeout' | 'liveMigrationTimeoutAction' | 'livePermitPostCopy' | 'livePermitAutoConverge' | 'liveMigrationMonitorMs'
  | 'reconcileIntervalSeconds' | 'reconcileLiveQueuedSeconds' | 'reconcileTaskSeconds' | 'reconcileBuildSeconds'
  | 'driver' | 'fakeMigrationBandwidth' | 'qemuMigrationBandwidth'
>;

export interface ComputeContext {
  ds: DataSource;
  driver: Driver;
  /** This compute's host name (its queue, the instances' host column). */
  host: string;
  /** The hypervisor node name (the instances' node column). */
  node: string;
  config: Readonly<ComputeSettings>;
  log: Logger;
  computeRpc: ComputeRpcApi;
  /** Moves this host's disks to other hosts. */
  transfer: Transfer;
  /** Versioned notifications (instance.resize.start …), published as `ferry-compute:<host>`. */
  notifier: Notifier;
  /** Migration steps running in this process now, by migration id: a repeated message or recovery pass leaves them alone. */
  activeMoves: Set<number>;
  /** Instances whose power, rescue or unrescue step a run of this process is driving now: a repeated message or reconciler pass leaves them alone. */
  activeTasks: Set<string>;
  /** The live migrations this host runs as their source (handles, runs, slots). */
  live: LiveMigrationsHere;
  /** Disk copies of cold moves this host runs as the source, by migration id: deleting the instance stops them. */
  coldCopies: Map<number, AbortController>;
  /** Guests a self-fence keeps from running (self-fence.ts): the power sync leaves them alone. */
  fencedGuests: Set<string>;
  /**
   * Guests kept from running because an evacuation of them away from this host is open (fencing.ts), by instance uuid:
   * the evacuation's record id. The power sync leaves them alone until the hold ends with the evacuation.
   */
  evacuationHolds: Map<string, number>;
  /** Fires when the service stops: long steps (disk copies) end there, leaving their record for recovery to resume. */
  stopping: AbortSignal;
}

/** What the driver needs to create the instance's VM; the VM is named as the API's instance_name shows it. */
export function vmSpecOf(instance: Instance, flavor = instance.flavor): VmSpec {
  return { uuid: instance.uuid, name: guestName(instance.uuid), flavor, image_ref: instance.image_ref, rescue_image_ref: instance.rescue_image_ref };
}
