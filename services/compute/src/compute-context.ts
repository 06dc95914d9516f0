// What every compute flow works with: the database, this host's driver and names, settings, the bus, a logger.
import type { FerryConfig } from '@ferry/common/config';
import type { Instance } from '@ferry/common/db';
import { guestName } from '@ferry/common/domain';
import type { Logger } from '@ferry/common/log';
import type { DataSource } from 'typeorm';
import type { Driver, VmSpec } from './drivers';
import type { ComputeRpcApi } from './rpcapi';

export type ComputeSettings = Pick<
  FerryConfig, 'schedulerMaxAttempts' | 'serviceDownSeconds' | 'powerSyncSeconds' | 'availabilityZone'
  | 'cpuAllocationRatio' | 'ramAllocationRatio' | 'diskAllocationRatio'
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
}

/** What the driver needs to create the instance's VM; the VM is named as the API's instance_name shows it. */
export function vmSpecOf(instance: Instance): VmSpec {
  return { uuid: instance.uuid, name: guestName(instance.uuid), flavor: instance.flavor, image_ref: instance.image_ref };
}
