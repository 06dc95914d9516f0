// What a bus tail of Ferry watches: the scheduler and compute topics, on every host the services table names.
import type { DataSource } from 'typeorm';
import { listServices } from '@ferry/common/db';
import type { TapOptions } from '@ferry/common/rpc';
import { COMPUTE_TOPIC } from '@ferry/compute/client';
import { SCHEDULER_TOPIC } from '@ferry/scheduler/client';

export const FERRY_TOPICS = [SCHEDULER_TOPIC, COMPUTE_TOPIC] as const;

/** Ferry's topics and the hosts its services registered from (none without a database: the tap learns them). */
export async function ferryTapOptions(ds?: DataSource): Promise<TapOptions> {
  const hosts = ds ? [...new Set((await listServices(ds)).map((s) => s.host))] : [];
  return { topics: FERRY_TOPICS, hosts };
}
