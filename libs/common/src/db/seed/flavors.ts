// Nova's classic flavors, the sizes OpenStack users expect on a fresh cloud.
import type { DataSource } from 'typeorm';
import { Flavor } from '../entities';

export interface FlavorSeed {
  flavorid: string;
  name: string;
  vcpus: number;
  memory_mb: number;
  root_gb: number;
}

export const CLASSIC_FLAVORS: readonly FlavorSeed[] = Object.freeze([
  { flavorid: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 512, root_gb: 1 },
  { flavorid: '2', name: 'm1.small', vcpus: 1, memory_mb: 2048, root_gb: 20 },
  { flavorid: '3', name: 'm1.medium', vcpus: 2, memory_mb: 4096, root_gb: 40 },
  { flavorid: '4', name: 'm1.large', vcpus: 4, memory_mb: 8192, root_gb: 80 },
  { flavorid: '5', name: 'm1.xlarge', vcpus: 8, memory_mb: 16384, root_gb: 160 },
]);

/** Inserts the classic flavors that are missing (by flavorid); returns how many it inserted. */
export async function seedFlavors(ds: DataSource): Promise<number> {
  const result = await ds.createQueryBuilder()
    .insert()
    .into(Flavor)
    .values(CLASSIC_FLAVORS.map((f) => ({ ...f, ephemeral_gb: 0, swap: 0, rxtx_factor: 1, is_public: true, disabled: false, extra_specs: {} })))
    .orIgnore()
    .returning(['id'])
    .execute();
  return result.raw.length;
}
