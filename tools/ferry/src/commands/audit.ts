// `ferry audit`: asks the API (GET /os-ferry-audit, as an admin: see api/admin-session.ts) to compare what every compute host holds with
// the database, and prints the problems per instance. Exit status: 0 clean, 1 problems found, 3 a compute host did not
// answer (the audit is incomplete, whatever else it found); 2 stays the usage error of every ferry command.
import type { FerryConfig } from '@ferry/common/config';
import type { AuditReport, InstanceFinding } from '@ferry/compute/audit';
import { adminSession, failure } from '../api/admin-session';

export const AUDIT_EXIT = Object.freeze({ clean: 0, problems: 1, incomplete: 3 });

export async function fetchAudit(config: Readonly<FerryConfig>): Promise<AuditReport> {
  const api = await adminSession(config);
  const res = await api.compute('GET', '/os-ferry-audit');
  if (res.status !== 200) throw await failure('GET /os-ferry-audit', res);
  return ((await res.json()) as { audit: AuditReport }).audit;
}

function copyLine(c: InstanceFinding['held'][number]): string {
  const vm = c.name === null ? 'no VM defined' : `VM ${c.name}, power state ${c.power_state}`;
  return `    ${c.host}: ${c.presence} (${vm}, ${c.has_disk ? 'disk present' : 'no disk'})`;
}

export function formatAudit(report: AuditReport): string {
  const out: string[] = [];
  for (const h of report.hosts) {
    if (h.answered) continue;
    out.push(`host ${h.host} did not answer: ${h.reason}`);
    if (h.unchecked && h.unchecked.length > 0) out.push(`  not checked (the database places them there): ${h.unchecked.join(', ')}`);
  }
  for (const i of report.instances) {
    if (out.length > 0) out.push('');
    const db = i.database;
    const where = !db ? 'not in the database'
      : db.deleted ? 'deleted in the database'
        : `database: ${db.vm_state}${db.task_state ? ` (${db.task_state})` : ''} on ${db.host ?? 'no host'}${db.move ? `, ${db.move.migration_type} ${db.move.status} ${db.move.source_compute ?? '?'} -> ${db.move.dest_compute ?? '?'}` : ''}`;
    out.push(`instance ${i.uuid} (${where})`);
    for (const p of i.problems) out.push(`  ${p.kind}: ${p.detail}`);
    out.push('  hosts:');
    out.push(...(i.held.length > 0 ? i.held.map(copyLine) : ['    (no host that answered holds anything of it)']));
  }
  const answered = report.hosts.filter((h) => h.answered).length;
  if (out.length > 0) out.push('');
  out.push(`${report.instances.length} instance(s) with problems; ${answered} of ${report.hosts.length} compute host(s) answered`);
  return out.join('\n') + '\n';
}

export function auditExitCode(report: AuditReport): number {
  if (!report.complete) return AUDIT_EXIT.incomplete;
  return report.clean ? AUDIT_EXIT.clean : AUDIT_EXIT.problems;
}

export async function audit(config: Readonly<FerryConfig>, opts: { json?: boolean }): Promise<number> {
  const report = await fetchAudit(config);
  process.stdout.write(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatAudit(report));
  return auditExitCode(report);
}
