// `ferry host drain HOST`: asks the API to drain a host (POST /os-ferry-hosts/HOST/drain; the scheduler disables the
// host and moves every server off, live where it can, cold where it must), then follows it: a progress bar on a
// terminal (moved/total, failed, in flight), one line per change otherwise, and a summary at the end. Ctrl-C stops
// following only: the drain goes on in the server. `ferry drain list|show|cancel` look at and stop drains.
// Exit status: 0 every server moved; 1 some failed, were skipped or the drain was cancelled; 130 interrupted.
import { Presets, SingleBar } from 'cli-progress';
import type { DrainView, DryRunView } from '@ferry/api';
import type { FerryConfig } from '@ferry/common/config';
import { adminSession, failure, type AdminSession } from '../api/admin-session';

/** GET /os-ferry-drains answers drains without their servers. */
export type DrainProgress = Omit<DrainView, 'servers'> & { servers?: DrainView['servers'] };
type PlannedServer = DryRunView['servers'][number];

export interface HostDrainOptions {
  mode?: 'live' | 'cold' | 'auto';
  concurrency?: number;
  dryRun?: boolean;
  /** Start the drain and return (false with --no-wait). */
  wait?: boolean;
  json?: boolean;
  pollMs?: number;
  out?: (text: string) => void;
  /** Whether to draw a progress bar (default: stdout is a terminal). */
  bar?: boolean;
}

async function getDrain(api: AdminSession, id: string): Promise<DrainProgress> {
  const path = `/os-ferry-drains/${encodeURIComponent(id)}`;
  const res = await api.compute('GET', path);
  if (res.status !== 200) throw await failure(`GET ${path}`, res);
  return ((await res.json()) as { drain: DrainProgress }).drain;
}

export function progressLine(p: DrainProgress): string {
  return `moved ${p.moved}/${p.total}, failed ${p.failed}, skipped ${p.skipped}, in flight ${p.in_flight}, pending ${p.pending} (${p.status})`;
}

export function drainSummary(p: DrainProgress, seconds?: number): string {
  const took = seconds !== undefined ? ` in ${seconds.toFixed(1)} s` : '';
  const lines = [`host ${p.host}: ${p.moved} moved, ${p.failed} failed, ${p.skipped} skipped of ${p.total}${took} (drain ${p.id}, ${p.status}, mode ${p.mode}, concurrency ${p.concurrency})`];
  for (const s of p.servers ?? []) {
    if (s.state === 'failed') lines.push(`  failed   ${s.instance_uuid} ${s.name}: ${s.reason ?? ''}`);
    if (s.state === 'skipped') lines.push(`  skipped  ${s.instance_uuid} ${s.name}: ${s.reason ?? ''}`);
    if (s.state === 'pending' && p.done) lines.push(`  not moved ${s.instance_uuid} ${s.name}: the drain was cancelled first`);
  }
  return lines.join('\n') + '\n';
}

function planTable(host: string, mode: string, servers: PlannedServer[]): string {
  const lines = [`dry run: drain of ${host} in mode ${mode} would move ${servers.filter((s) => s.move).length} of ${servers.length} servers, in this order:`];
  for (const s of servers) {
    lines.push(`  ${String(s.order).padStart(3)}  ${s.instance_uuid}  ${s.name.padEnd(16)} ${s.vm_state.padEnd(8)} ${String(s.memory_mb).padStart(6)} MB ${String(s.root_gb).padStart(4)} GB  ${s.move ?? `skip: ${s.skip_reason}`}`);
  }
  return lines.join('\n') + '\n';
}

/** The first Ctrl-C (or SIGTERM) from now on, and a way to stop listening. */
function onInterrupt(): { interrupted: Promise<void>; dispose(): void } {
  let stop = () => undefined as void;
  const interrupted = new Promise<void>((resolve) => { stop = resolve; });
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return { interrupted, dispose: () => { process.off('SIGINT', stop); process.off('SIGTERM', stop); } };
}

export async function hostDrain(config: Readonly<FerryConfig>, host: string, opts: HostDrainOptions = {}): Promise<number> {
  const out = opts.out ?? ((text: string) => process.stdout.write(text));
  const started = Date.now();
  const api = await adminSession(config);
  const path = `/os-ferry-hosts/${encodeURIComponent(host)}/drain`;
  const body = { ...(opts.mode ? { mode: opts.mode } : {}), ...(opts.concurrency ? { concurrency: opts.concurrency } : {}), ...(opts.dryRun ? { dry_run: true } : {}) };
  const res = await api.compute('POST', path, body);
  if (res.status !== 202 && !(opts.dryRun && res.status === 200)) throw await failure(`POST ${path}`, res);
  if (opts.dryRun) {
    const plan = ((await res.json()) as { drain: { mode: string; servers: PlannedServer[] } }).drain;
    out(opts.json ? JSON.stringify(plan, null, 2) + '\n' : planTable(host, plan.mode, plan.servers));
    return 0;
  }
  const first = ((await res.json()) as { drain: DrainProgress }).drain;
  if (opts.wait === false) {
    out(opts.json ? JSON.stringify(first, null, 2) + '\n' : `drain ${first.id} of ${host} started: ${first.total} servers (follow it with \`ferry drain show ${first.id}\`)\n`);
    return 0;
  }
  // Listening before the line that tells the operator Ctrl-C is safe.
  const signals = onInterrupt();
  if (!opts.json) out(`draining ${host}: drain ${first.id}, ${first.total} servers, mode ${first.mode}, concurrency ${first.concurrency}. Ctrl-C stops following; the drain goes on (\`ferry drain cancel ${first.id}\` stops it).\n`);
  const bar = opts.json ? undefined : (opts.bar ?? process.stdout.isTTY === true)
    ? new SingleBar({ format: '{bar} moved {value}/{total} | failed {failed} | in flight {in_flight} | {status}', hideCursor: true }, Presets.shades_classic)
    : undefined;
  bar?.start(Math.max(first.total, 1), first.moved, { failed: first.failed, in_flight: first.in_flight, status: first.status });
  let progress = first;
  let last = '';
  let stop = false;
  const follow = (async () => {
    while (!progress.done && !stop) {
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
      if (stop) break;
      progress = await getDrain(api, first.id);
      bar?.update(progress.moved, { failed: progress.failed, in_flight: progress.in_flight, status: progress.status });
      const line = progressLine(progress);
      if (!bar && !opts.json && line !== last) out(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${line}\n`);
      last = line;
    }
  })();
  const wasInterrupted = await Promise.race([signals.interrupted.then(() => true), follow.then(() => false, () => false)]);
  signals.dispose();
  stop = true;
  await follow.catch(() => undefined);
  bar?.stop();
  if (wasInterrupted) {
    out(`stopped following drain ${first.id}; it goes on in the server. \`ferry drain show ${first.id}\` shows it, \`ferry drain cancel ${first.id}\` stops it.\n`);
    return 130;
  }
  await follow;
  const seconds = (Date.now() - started) / 1000;
  out(opts.json ? JSON.stringify({ ...progress, seconds }, null, 2) + '\n' : drainSummary(progress, seconds));
  return progress.status === 'completed' && progress.moved === progress.total ? 0 : 1;
}

export async function drainCancel(config: Readonly<FerryConfig>, id: string, opts: { out?: (text: string) => void } = {}): Promise<number> {
  const out = opts.out ?? ((text: string) => process.stdout.write(text));
  const api = await adminSession(config);
  const path = `/os-ferry-drains/${encodeURIComponent(id)}/cancel`;
  const res = await api.compute('POST', path);
  if (res.status !== 202) throw await failure(`POST ${path}`, res);
  const p = ((await res.json()) as { drain: DrainProgress }).drain;
  out(`drain ${p.id} of ${p.host} is ${p.status}: it starts no new move; the ${p.in_flight} under way finish (${progressLine(p)})\n`);
  return 0;
}

export async function drainShow(config: Readonly<FerryConfig>, id: string, opts: { json?: boolean; out?: (text: string) => void } = {}): Promise<number> {
  const out = opts.out ?? ((text: string) => process.stdout.write(text));
  const p = await getDrain(await adminSession(config), id);
  if (opts.json) {
    out(JSON.stringify(p, null, 2) + '\n');
    return 0;
  }
  const lines = [`drain ${p.id} of ${p.host}: ${progressLine(p)}`, `  mode ${p.mode}, concurrency ${p.concurrency}, started ${p.started_at}${p.finished_at ? `, finished ${p.finished_at}` : ''}`];
  for (const s of p.servers ?? []) lines.push(`  ${s.state.padEnd(9)} ${s.instance_uuid} ${s.name} ${s.move ?? '-'}${s.dest ? ` -> ${s.dest}` : ''}${s.reason ? `: ${s.reason}` : ''}`);
  out(lines.join('\n') + '\n');
  return 0;
}

export async function drainList(config: Readonly<FerryConfig>, opts: { json?: boolean; out?: (text: string) => void } = {}): Promise<number> {
  const out = opts.out ?? ((text: string) => process.stdout.write(text));
  const api = await adminSession(config);
  const res = await api.compute('GET', '/os-ferry-drains');
  if (res.status !== 200) throw await failure('GET /os-ferry-drains', res);
  const drains = ((await res.json()) as { drains: DrainProgress[] }).drains;
  if (opts.json) {
    out(JSON.stringify(drains, null, 2) + '\n');
    return 0;
  }
  if (drains.length === 0) out('no drains\n');
  for (const d of drains) out(`${d.id}  ${d.host.padEnd(12)} ${d.status.padEnd(10)} ${d.started_at}  ${progressLine(d)}\n`);
  return 0;
}
