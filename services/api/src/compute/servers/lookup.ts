// Finding the server a request names: 404 for a malformed id, a missing one, or one in another project.
import type { DataSource } from 'typeorm';
import { Instance } from '@ferry/common/db';
import { InstanceNotFound, isUuid } from '@ferry/common/domain';
import type { ApiContext } from '../../http/api-context';
import { assertCanSeeInstance } from '../../http/policy';

export interface LookupOptions {
  /** Also find a deleted server (instance actions from 2.21). */
  withDeleted?: boolean;
}

/** The instance with id `id` as the caller may see it, or InstanceNotFound. */
export async function findVisibleInstance(ds: DataSource, ctx: ApiContext, id: string, opts: LookupOptions = {}): Promise<Instance> {
  if (!isUuid(id)) throw InstanceNotFound.forId(id);
  const instance = await ds.getRepository(Instance).findOne({ where: { uuid: id.toLowerCase() }, withDeleted: opts.withDeleted ?? false });
  if (!instance) throw InstanceNotFound.forId(id);
  assertCanSeeInstance(ctx, instance);
  return instance;
}

/** The instance as it is now (after a CAS lost or won), or InstanceNotFound when it is gone. */
export async function reloadInstance(ds: DataSource, uuid: string): Promise<Instance> {
  const instance = await ds.getRepository(Instance).findOne({ where: { uuid } });
  if (!instance) throw InstanceNotFound.forId(uuid);
  return instance;
}
