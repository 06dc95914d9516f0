// `ferry server cleanup ID`: asks the API ({"ferry-cleanup": null}, as an admin: see api/admin-session.ts) to converge one instance, and
// prints what was found on every host and what was done. Exit status: 0 converged or nothing to do, 1 refused (nothing
// was changed, or a run cut short: the message says what was done), 2 the API could not be reached or the request was bad.
import type { FerryConfig } from '@ferry/common/config';
import type { CleanupReport } from '@ferry/compute/cleanup';
import { adminSession, failure } from '../api/admin-session';

export const CLEANUP_EXIT = Object.freeze({ done: 0, refused: 1 });

type Answer = { ok: true; report: CleanupReport } | { ok: false; message: string };

export async function requestCleanup(config: Readonly<FerryConfig>, id: string): Promise<Answer> {
  const api = await adminSession(config);
  const res = await api.compute('POST', `/servers/${encodeURIComponent(id)}/action`, { 'ferry-cleanup': null });
  if (res.status === 200) return { ok: true, report: ((await res.json()) as { cleanup: CleanupReport }).cleanup };
  if (res.status === 409) {
    const body = (await res.json()) as { conflictingRequest?: { message?: string } };
    return { ok: false, message: body.conflictingRequest?.message ?? 'refused' };
  }
  throw await failure(`cleanup of server ${id}`, res);
}

function holdsLine(h: CleanupReport['found']['hosts'][number]): string {
  if (!h.holds) return `  ${h.host}: nothing`;
  const c = h.holds;
  const vm = c.presence === 'absent' ? 'no VM defined' : `${c.presence} as ${c.name ?? '?'}${c.transient ? ', running from memory with no definition' : ''}`;
  return `  ${h.host}: ${vm} (${c.has_disk ? 'disk present' : 'no disk'})`;
}

export function formatCleanup(r: CleanupReport): string {
  const db = r.found.database;
  const move = db.move ? `; last move ${db.move.migration_type} ${db.move.id} ${db.move.source_compute ?? '?'} -> ${db.move.dest_compute ?? '?'} (${db.move.status})` : '';
  const out = [
    `instance ${r.instance_uuid}: ${r.result === 'converged' ? `converged (${r.outcome})` : 'nothing to do'} [rule ${r.rule}]`,
    'found:',
    `  database: ${db.vm_state}${db.task_state ? ` (${db.task_state})` : ''} on ${db.host ?? 'no host'}, claims on ${db.claims.join(', ') || 'no host'}${move}`,
    ...r.found.hosts.map(holdsLine),
    `why: ${r.reason}`,
  ];
  if (r.done.length > 0) out.push('done:', ...r.done.map((d) => `  - ${d}`));
  return out.join('\n') + '\n';
}

export async function serverCleanup(config: Readonly<FerryConfig>, id: string, opts: { json?: boolean }): Promise<number> {
  const answer = await requestCleanup(config, id);
  if (answer.ok) {
    process.stdout.write(opts.json ? JSON.stringify(answer.report, null, 2) + '\n' : formatCleanup(answer.report));
    return CLEANUP_EXIT.done;
  }
  if (opts.json) process.stdout.write(JSON.stringify({ refused: answer.message }, null, 2) + '\n');
  else process.stderr.write(`cleanup refused: ${answer.message}\n`);
  return CLEANUP_EXIT.refused;
}
