// What `cleanup` decides from: the instance's row, its last move, its claims, and what every compute host holds of it
// (all asked, up or down; one that does not answer stops the cleanup, named, before anything is decided).
import type { DataSource } from 'typeorm';
import { latestMigrationOf, listAllocations, type Instance } from '@ferry/common/db';
import { Conflict, isTerminal, MIGRATION_TYPES } from '@ferry/common/domain';
import type { RequestContext } from '@ferry/common/rpc';
import type { HostAnswer } from '../audit/audit-findings';
import { askEveryHost } from '../audit/run-audit';
import type { ComputeRpcApi } from '../client/rpcapi';
import type { CleanupFacts } from './cleanup-verdict';

export async function gatherCleanupFacts(
  ds: DataSource, compute: ComputeRpcApi, ctx: RequestContext, instance: Instance, timeoutMs: number,
): Promise<{ facts: CleanupFacts; hosts: string[] }> {
  const answers = await askEveryHost(ds, compute, ctx, timeoutMs);
  const silent = answers.filter((a): a is Extract<HostAnswer, { answered: false }> => !a.answered);
  if (silent.length > 0) {
    const why = silent.map((a) => `${a.host} (${a.reason})`).join(', ');
    throw new Conflict(`Cannot clean up instance ${instance.uuid}: compute host${silent.length > 1 ? 's' : ''} ${why} did not answer; nothing was changed`);
  }
  const copies = answers.flatMap((a) => (a.answered ? a.guests.filter((g) => g.uuid === instance.uuid).map(({ uuid: _uuid, power_state: _p, ...g }) => ({ host: a.host, ...g })) : []));
  const last = await latestMigrationOf(ds, instance.uuid, MIGRATION_TYPES);
  const claims = (await listAllocations(ds, { consumer_uuid: instance.uuid })).map((a) => a.host).sort();
  return {
    hosts: answers.map((a) => a.host),
    facts: {
      instance: { uuid: instance.uuid, host: instance.host, vm_state: instance.vm_state, task_state: instance.task_state },
      move: last ? {
        id: last.id, migration_type: last.migration_type, status: last.status, source_compute: last.source_compute, dest_compute: last.dest_compute,
        open: !isTerminal(last.migration_type, last.status),
      } : null,
      copies,
      claims,
    },
  };
}
