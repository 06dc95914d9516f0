// How `ferry migration` prints moves: a table for list, phases and timings for show, and the figures a watch shows
// per move (bytes moved of the total, rate, time left). Pure: records in, text out.
import type { PolicyInForce } from '@ferry/common/domain';

/** A move as GET /os-ferry-migrations returns it. */
export interface MigrationRecord {
  id: number;
  uuid: string;
  instance_uuid: string;
  migration_type: string;
  status: string;
  source_compute: string | null;
  dest_compute: string | null;
  created_at: string;
  updated_at: string;
  memory_total: number | null;
  memory_processed: number | null;
  memory_remaining: number | null;
  disk_total: number | null;
  disk_processed: number | null;
  disk_remaining: number | null;
  phase_timings: Record<string, { started_at?: string; finished_at?: string; [key: string]: unknown }>;
  last_error: string | null;
  steer_request: string | null;
  /** A live migration's policy as it started, with where each value came from (absent before it started). */
  migration_policy?: PolicyInForce | null;
  in_progress: boolean;
}

const MIB = 1024 * 1024;

/** Bytes as an operator reads them: 512 B, 3.4 MiB, 20.0 GiB. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** Seconds as 850 ms, 12.3 s, 4 min 05 s. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/** Memory and disk together: what the move has to send, and what it has sent. */
export function transfer(m: MigrationRecord): { total: number; processed: number; remaining: number } {
  const total = (m.memory_total ?? 0) + (m.disk_total ?? 0);
  const processed = (m.memory_processed ?? 0) + (m.disk_processed ?? 0);
  const remaining = (m.memory_remaining ?? 0) + (m.disk_remaining ?? 0);
  return { total, processed, remaining };
}

function percent(m: MigrationRecord): string {
  const t = transfer(m);
  return t.total > 0 ? `${Math.min(100, Math.round((100 * t.processed) / t.total))}%` : '-';
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n') + '\n';
}

export function formatList(moves: readonly MigrationRecord[]): string {
  if (moves.length === 0) return 'no migrations\n';
  return table([
    ['ID', 'TYPE', 'STATUS', 'INSTANCE', 'FROM', 'TO', 'MOVED', 'UPDATED'],
    ...moves.map((m) => [String(m.id), m.migration_type, m.status, m.instance_uuid, m.source_compute ?? '-', m.dest_compute ?? '-', percent(m), m.updated_at]),
  ]);
}

/** The phases in the order they started, each with its duration (or "running" while it has not finished). */
export function phaseLines(m: MigrationRecord): string[] {
  return Object.entries(m.phase_timings)
    .filter(([, t]) => t.started_at)
    .sort(([, a], [, b]) => Date.parse(a.started_at!) - Date.parse(b.started_at!))
    .map(([name, t]) => {
      const took = t.finished_at ? duration(Date.parse(t.finished_at) - Date.parse(t.started_at!)) : 'running';
      const extra = Object.entries(t).filter(([k]) => k !== 'started_at' && k !== 'finished_at').map(([k, v]) => `${k}=${JSON.stringify(v)}`);
      return `    ${name.padEnd(22)} ${t.started_at}  ${took}${extra.length ? `  ${extra.join(' ')}` : ''}`;
    });
}

/** The policy a live migration runs under: each knob, its value, the place it came from (and by which key); then what was ignored. */
export function policyLines(p: PolicyInForce): string[] {
  const onOff = (b: boolean) => (b ? 'on' : 'off');
  const rows: [string, string, { source: string; key?: string }][] = [
    ['bandwidth', `${+(p.bandwidth_bytes_per_s.value / MIB).toFixed(1)} MiB/s`, p.bandwidth_bytes_per_s],
    ['max downtime', `${p.max_downtime_ms.value} ms`, p.max_downtime_ms],
    ['completion timeout', p.completion_timeout_s_per_gib.value > 0 ? `${p.completion_timeout_s_per_gib.value} s per GiB` : 'never', p.completion_timeout_s_per_gib],
    ['auto-converge', onOff(p.auto_converge.value), p.auto_converge],
    ['post-copy', onOff(p.post_copy.value), p.post_copy],
  ];
  return [
    ...rows.map(([name, value, { source, key }]) => `    ${name.padEnd(19)} ${value.padEnd(15)} ${source}${key ? ` (${key})` : ''}`.trimEnd()),
    ...p.rejected.map((r) => `    ignored             ${r.key}=${JSON.stringify(r.value)} (${r.source}): ${r.problem}`),
  ];
}

export function formatShow(m: MigrationRecord): string {
  const t = transfer(m);
  const lines = [
    `migration ${m.id} (${m.uuid})`,
    `  type:      ${m.migration_type}`,
    `  status:    ${m.status}${m.in_progress ? ' (in progress)' : ''}${m.steer_request ? `, ${m.steer_request} requested` : ''}`,
    `  instance:  ${m.instance_uuid}`,
    `  hosts:     ${m.source_compute ?? '-'} -> ${m.dest_compute ?? '-'}`,
    `  created:   ${m.created_at}`,
    `  updated:   ${m.updated_at}`,
  ];
  if (m.memory_total !== null) lines.push(`  memory:    ${bytes(m.memory_processed ?? 0)} of ${bytes(m.memory_total)} sent, ${bytes(m.memory_remaining ?? 0)} remaining`);
  if (m.disk_total !== null) lines.push(`  disk:      ${bytes(m.disk_processed ?? 0)} of ${bytes(m.disk_total)} sent, ${bytes(m.disk_remaining ?? 0)} remaining`);
  if (t.total > 0) lines.push(`  moved:     ${percent(m)}`);
  if (m.last_error) lines.push(`  error:     ${m.last_error}`);
  if (m.migration_policy) lines.push('  policy:', ...policyLines(m.migration_policy));
  const phases = phaseLines(m);
  lines.push(...(phases.length > 0 ? ['  phases:', ...phases] : ['  phases:    none recorded']));
  return lines.join('\n') + '\n';
}

/** What a watch shows of one move between two looks at it. */
export interface WatchFigures {
  processed: number;
  total: number;
  /** Bytes per second between the last two looks that saw bytes move (null until then). */
  rate: number | null;
  /** Seconds left at that rate (null when unknown). */
  eta: number | null;
}

/** The last look at a move in which its bytes moved: the watch measures the rate between two such looks. */
export interface LastMovement {
  processed: number;
  at: number;
  rate: number | null;
}

/**
 * The figures of a move now, and the movement to remember. Progress is written every few hundred ms, so two looks
 * may see the same bytes: the rate is measured between the looks where the bytes changed, and kept in between.
 */
export function watchFigures(now: MigrationRecord, last: LastMovement | undefined, at: number): { figures: WatchFigures; movement: LastMovement } {
  const t = transfer(now);
  let movement: LastMovement = last ?? { processed: t.processed, at, rate: null };
  if (last && t.processed !== last.processed) {
    const seconds = (at - last.at) / 1000;
    movement = { processed: t.processed, at, rate: seconds > 0 ? Math.max(0, (t.processed - last.processed) / seconds) : last.rate };
  }
  const eta = movement.rate && movement.rate > 0 ? t.remaining / movement.rate : null;
  return { figures: { processed: t.processed, total: Math.max(t.total, t.processed), rate: movement.rate, eta }, movement };
}

/** One line of a watch's progress (what a terminal's bar carries beside it, or a log line without one). */
export function watchLine(m: MigrationRecord, f: WatchFigures): string {
  const moved = f.total > 0 ? `${bytes(f.processed)}/${bytes(f.total)}` : 'no transfer yet';
  const rate = f.rate === null ? '' : `  ${(f.rate / MIB).toFixed(1)} MiB/s`;
  const eta = f.eta === null ? '' : `  ~${duration(f.eta * 1000)} left`;
  return `${m.id} ${m.migration_type} ${m.instance_uuid.slice(0, 8)} ${m.source_compute ?? '-'}->${m.dest_compute ?? '-'}  ${m.status}  ${moved}${rate}${eta}`;
}
