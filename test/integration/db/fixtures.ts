// Rows the db tests need: an instance (migrations reference one) and a migration in a given status.
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { Instance, Migration, type InstanceFlavor } from '@ferry/common/db';

export const TINY: InstanceFlavor = { id: 1, flavorid: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 512, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} };

export async function insertInstance(ds: DataSource, fields: Partial<Instance> = {}): Promise<Instance> {
  const repo = ds.getRepository(Instance);
  return repo.save(repo.create({
    uuid: randomUUID(), display_name: 'vm', project_id: 'p1', user_id: 'u1', host: 'compute-1', node: 'compute-1',
    flavor: TINY, image_ref: 'cirros', vm_state: 'active', task_state: null, power_state: 1, ...fields,
  }));
}

/** Inserts a migration row directly in any status (tests set up mid-flow states this way). */
export async function insertMigration(ds: DataSource, fields: Partial<Migration> & { instance_uuid: string }): Promise<Migration> {
  const repo = ds.getRepository(Migration);
  return repo.save(repo.create({
    uuid: randomUUID(), migration_type: 'resize', status: 'pre-migrating', source_compute: 'compute-1', dest_compute: 'compute-2', ...fields,
  }));
}
