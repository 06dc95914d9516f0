// DELETE /os-services/{id}: refuses while a compute host still holds instances or unfinished moves, then
// removes the service with its compute node and any claims left on the host.
import type { DataSource } from 'typeorm';
import { BadRequest, Conflict, isTerminal, NotFound } from '@ferry/common/domain';
import { versionIn, type ApiVersion } from '../../http/microversion';
import { integerId } from '../common/request-params';
import { COMPUTE_BINARY, findService, type ServiceRow } from './service-rows';
import { requireUuid } from './update';

export async function deleteService(ds: DataSource, downSeconds: number, v: ApiVersion, rawId: string): Promise<void> {
  const id = versionIn(v, '2.53') ? requireUuid(rawId) : integerId(rawId);
  if (id === undefined) throw new BadRequest(`Invalid input received: id must be an integer.`);
  const svc = await findService(ds, downSeconds, id);
  if (!svc) throw new NotFound(`Service ${rawId} not found.`);
  if (svc.binary === COMPUTE_BINARY) await assertComputeHostIdle(ds, svc);
  await ds.transaction(async (tx) => {
    if (svc.binary === COMPUTE_BINARY) {
      await tx.query('DELETE FROM allocations WHERE host = $1', [svc.host]);
      await tx.query('DELETE FROM compute_nodes WHERE host = $1', [svc.host]);
    }
    await tx.query('DELETE FROM services WHERE id = $1', [svc.id]);
  });
}

async function assertComputeHostIdle(ds: DataSource, svc: ServiceRow): Promise<void> {
  const [{ count }]: { count: number }[] = await ds.query('SELECT count(*)::int AS count FROM instances WHERE host = $1 AND deleted_at IS NULL', [svc.host]);
  if (count > 0) {
    throw new Conflict('Unable to delete compute service that is hosting instances. Migrate or delete the instances first.');
  }
  const moves: { migration_type: string; status: string }[] = await ds.query(
    'SELECT migration_type, status FROM migrations WHERE (source_compute = $1 OR dest_compute = $1) AND deleted_at IS NULL',
    [svc.host],
  );
  if (moves.some((m) => !isTerminal(m.migration_type, m.status))) {
    throw new Conflict('Unable to delete compute service that has in-progress migrations. Complete the migrations or delete the instances first.');
  }
}
