// The matrix and its sampling, as data: pure checks (no services).
import { CRASH_POINT_NAMES } from '@ferry/common/chaos';
import { FAILURE_MODES } from '@ferry/compute/drivers';
import { chosenCells, parseArgs } from './main';
import { allCells, FAULTS, FLOW_SPECS, FLOWS, REPAIR_CRASHES, sampleCells } from './matrix';
import { matrixReport, percentile } from './report';

describe('chaos matrix', () => {
  it('has every flow × its crash points and every flow × every fault, each cell once', () => {
    const cells = allCells();
    const ids = cells.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    const crashes = FLOWS.reduce((n, f) => n + FLOW_SPECS[f].points.length, 0);
    expect(cells).toHaveLength(crashes + FLOWS.length * FAULTS.length + Object.keys(FAILURE_MODES).length + REPAIR_CRASHES.length);
    expect(cells.filter((c) => c.kind === 'repair').map((c) => c.id)).toContain('cleanup/repair/xen_freeze');
    // Every crash point is exercised by some flow.
    const used = new Set([...FLOWS.flatMap((f) => FLOW_SPECS[f].points), ...REPAIR_CRASHES.map(([point]) => point)]);
    expect(CRASH_POINT_NAMES.filter((p) => !used.has(p))).toEqual([]);
  });

  it('samples the same cells for the same seed, different ones for another, without repeats', () => {
    const cells = allCells();
    const a = sampleCells(cells, 42, 40).map((c) => c.id);
    expect(sampleCells(cells, 42, 40).map((c) => c.id)).toEqual(a);
    expect(new Set(a).size).toBe(40);
    expect(sampleCells(cells, 43, 40).map((c) => c.id)).not.toEqual(a);
    expect(sampleCells(cells, 1, cells.length + 5)).toHaveLength(cells.length);
  });

  it('reads the runner arguments', () => {
    expect(parseArgs(['--seed', '7', '--cells', '40'])).toMatchObject({ seed: 7, cells: 40, only: [] });
    expect(chosenCells(parseArgs(['--seed', '7', '--cells', '40']))).toHaveLength(40);
    expect(chosenCells(parseArgs(['--cell', 'build/fault/stall'])).map((c) => c.id)).toEqual(['build/fault/stall']);
    expect(() => chosenCells(parseArgs(['--cell', 'build/fault/nope']))).toThrow(/unknown cell/);
    expect(() => parseArgs(['--bogus'])).toThrow(/unknown argument/);
  });

  it('reports counts, percentiles and a replay line per failing cell', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 99)).toBe(4);
    const [pass, fail] = allCells();
    const text = matrixReport([
      { cell: pass!, outcome: 'pass', convergeMs: 1500, detail: '', where: '', steps: [] },
      { cell: fail!, outcome: 'fail', detail: 'task_state resize_prep', where: 'vm_state=active', steps: [] },
    ], (id) => `replay ${id}`);
    expect(text).toMatch(/^all\s+2\s+1\s+1\s+0\s+1\.5s\s+1\.5s$/m);
    expect(text).toContain(`FAIL  ${fail!.id}: task_state resize_prep [vm_state=active]`);
    expect(text).toContain(`replay ${fail!.id}`);
  });
});
