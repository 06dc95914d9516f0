// `ferry audit`'s collection: every compute service the services table lists (up or down) is asked, in parallel and
// with a bounded timeout, what its driver holds; the database is then read and the two compared. Read only: no write
// to the database, no driver action. The bus has no fanout call with many replies, so each host is called by name.
import type { DataSource } from 'typeorm';
import { instanceStandings, listServices, openMigrations } from '@ferry/common/db';
import { isUuid } from '@ferry/common/domain';
import type { RequestContext } from '@ferry/common/rpc';
import { COMPUTE_BINARY } from '@ferry/common/service';
import type { ComputeRpcApi } from '../client/rpcapi';
import { auditFindings, type AuditReport, type HostAnswer } from './audit-findings';

export async function runAudit(ds: DataSource, compute: ComputeRpcApi, ctx: RequestContext, timeoutMs: number): Promise<AuditReport> {
  const answers = await askEveryHost(ds, compute, ctx, timeoutMs);
  const held = answers.flatMap((a) => (a.answered ? a.guests.map((g) => g.uuid).filter(isUuid) : []));
  const instances = await instanceStandings(ds, [...new Set(held)], { andLive: true });
  const moves = await openMigrations(ds);
  return auditFindings({ instances, moves, hosts: answers });
}

/** Every compute host the services table lists (up or down), asked in parallel what its driver holds; in host order. */
export async function askEveryHost(ds: DataSource, compute: ComputeRpcApi, ctx: RequestContext, timeoutMs: number): Promise<HostAnswer[]> {
  const hosts = [...new Set((await listServices(ds)).filter((s) => s.binary === COMPUTE_BINARY).map((s) => s.host))]
    .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  return Promise.all(hosts.map(async (host): Promise<HostAnswer> => {
    try {
      return { host, answered: true, guests: (await compute.listGuests(ctx, host, timeoutMs)).guests };
    } catch (err) {
      return { host, answered: false, reason: (err as Error).message };
    }
  }));
}
