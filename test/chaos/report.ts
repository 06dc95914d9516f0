// The matrix as the run saw it: per flow and in total, cells, pass, fail, human-needed, and time to converge.
import type { CellResult } from './cell';
import { FLOWS, REPAIR_FLOW } from './matrix';

export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const secs = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)}s`);

function row(label: string, rs: readonly CellResult[]): string {
  const times = rs.filter((r) => r.convergeMs !== undefined).map((r) => r.convergeMs!).sort((a, b) => a - b);
  const count = (o: string) => rs.filter((r) => r.outcome === o).length;
  return [label.padEnd(16), String(rs.length).padStart(5), String(count('pass')).padStart(5), String(count('fail')).padStart(5),
    String(count('human')).padStart(6), secs(percentile(times, 50)).padStart(7), secs(percentile(times, 99)).padStart(7)].join(' ');
}

/** The table, then one line per cell that did not pass, with the command that replays it. */
export function matrixReport(results: readonly CellResult[], replay: (cellId: string) => string): string {
  const lines = [['flow'.padEnd(16), 'cells'.padStart(5), 'pass'.padStart(5), 'fail'.padStart(5), 'human'.padStart(6), 'p50'.padStart(7), 'p99'.padStart(7)].join(' ')];
  for (const flow of [...FLOWS, REPAIR_FLOW]) {
    const rs = results.filter((r) => r.cell.flow === flow);
    if (rs.length) lines.push(row(flow, rs));
  }
  lines.push(row('all', results));
  for (const r of results.filter((x) => x.outcome !== 'pass')) {
    lines.push(`${r.outcome === 'fail' ? 'FAIL ' : 'HUMAN'} ${r.cell.id}: ${r.detail} [${r.where}]`);
    if (r.outcome === 'fail') lines.push(`      replay: ${replay(r.cell.id)}`);
  }
  return lines.join('\n');
}
