// `ferry host evacuate HOST [--concurrency N]`: asks the API to evacuate every server of a down host as one batch
// (POST /os-ferry-hosts/HOST/evacuate; the scheduler runs at most N at a time), then follows the batch, printing
// progress, and ends with a summary: evacuated, failed with the reason, skipped, and the time it took.
// Exit status: 0 every server evacuated, 1 some failed or were skipped; 2 the usage error of every ferry command.
import type { FerryConfig } from '@ferry/common/config';
import { adminSession, failure, type AdminSession } from '../api/admin-session';

interface BatchServer { id: string; state: 'waiting' | 'running' | 'evacuated' | 'failed'; status: string; dest: string | null; error: string | null }
interface BatchProgress {
  id: string;
  host: string;
  concurrency: number;
  servers: BatchServer[];
  counts?: Record<BatchServer['state'], number>;
  done: boolean;
  skipped?: { id: string; reason: string }[];
}

export interface HostEvacuateOptions {
  concurrency?: number;
  /** Poll interval in milliseconds (default 250): each poll also hands waiting evacuations to the scheduler. */
  pollMs?: number;
  json?: boolean;
  out?: (line: string) => void;
}

async function poll(api: AdminSession, host: string, id: string): Promise<BatchProgress> {
  const path = `/os-ferry-hosts/${encodeURIComponent(host)}/evacuations/${encodeURIComponent(id)}`;
  const res = await api.compute('GET', path);
  if (res.status !== 200) throw await failure(`GET ${path}`, res);
  return ((await res.json()) as { evacuation: BatchProgress }).evacuation;
}

function progressLine(p: BatchProgress, seconds: number): string {
  const c = p.counts ?? { waiting: 0, running: 0, evacuated: 0, failed: 0 };
  return `[${seconds.toFixed(1)} s] evacuated ${c.evacuated}/${p.servers.length}, running ${c.running}, waiting ${c.waiting}, failed ${c.failed}`;
}

export function summary(p: BatchProgress, skipped: { id: string; reason: string }[], seconds: number): string {
  const evacuated = p.servers.filter((s) => s.state === 'evacuated');
  const failed = p.servers.filter((s) => s.state === 'failed');
  const lines = [`host ${p.host}: ${evacuated.length} evacuated, ${failed.length} failed, ${skipped.length} skipped in ${seconds.toFixed(1)} s (concurrency ${p.concurrency})`];
  for (const s of evacuated) lines.push(`  evacuated ${s.id} -> ${s.dest ?? '?'}`);
  for (const s of failed) lines.push(`  failed    ${s.id}: ${s.error ?? s.status}`);
  for (const s of skipped) lines.push(`  skipped   ${s.id}: ${s.reason}`);
  return lines.join('\n') + '\n';
}

export async function hostEvacuate(config: Readonly<FerryConfig>, host: string, opts: HostEvacuateOptions = {}): Promise<number> {
  const out = opts.out ?? ((line: string) => process.stdout.write(line));
  const started = Date.now();
  const api = await adminSession(config);
  const path = `/os-ferry-hosts/${encodeURIComponent(host)}/evacuate`;
  const res = await api.compute('POST', path, { evacuate: opts.concurrency ? { concurrency: opts.concurrency } : {} });
  if (res.status !== 202) throw await failure(`POST ${path}`, res);
  const first = ((await res.json()) as { evacuation: BatchProgress }).evacuation;
  const skipped = first.skipped ?? [];
  let progress = first;
  let last = '';
  while (!progress.done) {
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 250));
    progress = await poll(api, host, first.id);
    const line = progressLine(progress, (Date.now() - started) / 1000);
    if (!opts.json && line.replace(/^\[[^\]]*\] /, '') !== last.replace(/^\[[^\]]*\] /, '')) out(line + '\n');
    last = line;
  }
  const seconds = (Date.now() - started) / 1000;
  out(opts.json ? JSON.stringify({ ...progress, skipped, seconds }, null, 2) + '\n' : summary(progress, skipped, seconds));
  return progress.servers.every((s) => s.state === 'evacuated') && skipped.length === 0 ? 0 : 1;
}
