// `npm run chaos`: every cell of the matrix (or `-- --seed N --cells K` for a seeded sample, `-- --cell <id>` for
// one), then the matrix table, p50/p99 time to converge, and a replay command for each failing cell.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChaosHarness, type CellResult } from './cell';
import { allCells, sampleCells, type Cell } from './matrix';
import { matrixReport } from './report';

export interface ChaosArgs {
  seed?: number;
  cells?: number;
  only: string[];
  convergeSeconds: number;
  keep: boolean;
}

export function parseArgs(argv: readonly string[]): ChaosArgs {
  const args: ChaosArgs = { only: [], convergeSeconds: 30, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--seed') args.seed = Number(value());
    else if (a === '--cells') args.cells = Number(value());
    else if (a === '--cell') args.only.push(value());
    else if (a === '--converge') args.convergeSeconds = Number(value());
    else if (a === '--keep') args.keep = true;
    else throw new Error(`unknown argument ${a} (known: --seed N, --cells K, --cell <id>, --converge S, --keep)`);
  }
  return args;
}

/** The cells the arguments name: some by id, a seeded sample, or the whole matrix. */
export function chosenCells(args: ChaosArgs): Cell[] {
  const all = allCells();
  if (args.only.length) {
    const unknown = args.only.filter((id) => !all.some((c) => c.id === id));
    if (unknown.length) throw new Error(`unknown cell ${unknown.join(', ')}`);
    return all.filter((c) => args.only.includes(c.id));
  }
  if (args.cells !== undefined) return sampleCells(all, args.seed ?? 0, args.cells);
  return all;
}

export interface ChaosRun {
  results: CellResult[];
  /** VM directories left on a host for an instance that no longer exists, after every cell. */
  orphans: string[];
}

export async function runCells(cells: readonly Cell[], opts: { convergeSeconds: number; keep?: boolean; log?: (l: string) => void }): Promise<ChaosRun> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-chaos-'));
  // The private Postgres and RabbitMQ run as their own users, below this directory.
  chmodSync(dir, 0o755);
  const log = opts.log ?? (() => undefined);
  log(`chaos: ${cells.length} cells; services, logs and state under ${dir}`);
  const harness = await ChaosHarness.start(dir, { convergeSeconds: opts.convergeSeconds, log });
  // Interrupted: the private Postgres and RabbitMQ and every service go too, not left running on their ports.
  const interrupted = (signal: NodeJS.Signals) => {
    log(`chaos: ${signal}; stopping the services, Postgres and RabbitMQ under ${dir}`);
    void harness.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  const results: CellResult[] = [];
  let orphans: string[] = [];
  try {
    for (const [i, cell] of cells.entries()) {
      const started = Date.now();
      log(`[${i + 1}/${cells.length}] ${cell.id}`);
      const r = await harness.run(cell);
      results.push(r);
      log(`  ${r.outcome}${r.convergeMs === undefined ? '' : ` in ${(r.convergeMs / 1000).toFixed(1)} s`} (cell ${((Date.now() - started) / 1000).toFixed(1)} s)${r.outcome === 'pass' ? '' : `: ${r.detail}`} [${r.where}] steps: ${r.steps.join(' | ')}`);
    }
    orphans = await harness.orphans();
    if (orphans.length) log(`orphan VMs (no live instance owns them): ${orphans.join(', ')}`);
  } finally {
    process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
    await harness.stop();
    if (!opts.keep && results.every((r) => r.outcome !== 'fail') && orphans.length === 0) rmSync(dir, { recursive: true, force: true });
  }
  return { results, orphans };
}

export function replayCommand(cellId: string): string {
  return `npm run chaos -- --cell ${cellId}`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.cells !== undefined && args.seed === undefined) args.seed = Math.floor(Math.random() * 2 ** 31);
  const cells = chosenCells(args);
  if (args.seed !== undefined) console.log(`chaos: seed ${args.seed} (replay this sample: npm run chaos -- --seed ${args.seed} --cells ${args.cells})`);
  const started = Date.now();
  const { results, orphans } = await runCells(cells, { convergeSeconds: args.convergeSeconds, keep: args.keep, log: (l) => console.log(l) });
  console.log(`\n${matrixReport(results, replayCommand)}`);
  if (orphans.length) console.log(`ORPHANS ${orphans.join(', ')}`);
  console.log(`chaos: ${results.length} cells in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  process.exitCode = results.some((r) => r.outcome === 'fail') || orphans.length ? 1 : 0;
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 2;
  });
}
