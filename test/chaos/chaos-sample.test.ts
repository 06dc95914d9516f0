// CI's chaos run: a seeded random sample of the matrix (a new seed each run unless FERRY_CHAOS_SEED names one),
// every cell converging with only restarts and Ferry's own recovery. A failure lists each failing cell with the
// command that replays it; the seed replays the whole sample.
import { runCells, replayCommand } from './main';
import { allCells, sampleCells } from './matrix';
import { matrixReport } from './report';

const SEED = process.env.FERRY_CHAOS_SEED ? Number(process.env.FERRY_CHAOS_SEED) : Math.floor(Math.random() * 2 ** 31);
const COUNT = Number(process.env.FERRY_CHAOS_CELLS ?? 40);
const CONVERGE_SECONDS = Number(process.env.FERRY_CHAOS_CONVERGE ?? 20);

jest.setTimeout(9 * 60_000);

describe(`chaos: a sample of ${COUNT} cells (seed ${SEED})`, () => {
  it('converges to exactly one running copy of each instance in every cell', async () => {
    const cells = sampleCells(allCells(), SEED, COUNT);
    expect(cells).toHaveLength(Math.min(COUNT, allCells().length));
    const lines: string[] = [`chaos: seed ${SEED}; replay the sample with FERRY_CHAOS_SEED=${SEED} npx jest test/chaos/chaos-sample.test.ts`];
    const started = Date.now();
    const { results, orphans } = await runCells(cells, { convergeSeconds: CONVERGE_SECONDS, log: (l) => lines.push(l) });
    lines.push(matrixReport(results, replayCommand), `chaos: ${results.length} cells in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    console.log(lines.join('\n'));
    const failing = results.filter((r) => r.outcome === 'fail').map((r) => `${r.cell.id}: ${r.detail} [${r.where}] — replay: ${replayCommand(r.cell.id)}`);
    expect({ failing, orphans }).toEqual({ failing: [], orphans: [] });
  });
});
