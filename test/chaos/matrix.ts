// The chaos matrix as data: every flow with the crash points it passes, the four faults each flow takes at its long
// step, and the failures `cleanup` repairs. A cell is one flow with one crash point (in the process of the point's
// role) or one fault, or one failure made behind Ferry's back followed by cleanup.
import { CRASH_POINTS, type CrashPointName, type CrashRole } from '@ferry/common/chaos';
import type { FailureModeName } from '@ferry/compute/drivers';
import { seededRandom } from '../support/seeded-random';

export const FLOWS = ['build', 'cold-confirm', 'resize-revert', 'live-block', 'live-shared', 'abort', 'force-complete', 'evacuate', 'evacuate-alive'] as const;
export type Flow = (typeof FLOWS)[number];

export const FAULTS = ['stall', 'broker-cut', 'broker-restart', 'postgres-restart'] as const;
export type Fault = (typeof FAULTS)[number];

/** A status of the instance's migration (or, for a build, task_state) that marks the flow's long step. */
export interface LongStep {
  migration?: readonly string[];
  task?: readonly string[];
  /** The process a stall stops. */
  stall: CrashRole;
}

const COLD = ['api.accept.before_cast', 'scheduler.move.after_claim', 'cold.dest.after_record', 'cold.source.after_pass1',
  'cold.source.after_power_off', 'cold.source.after_post_migrating', 'cold.dest.after_spawn'] as const;
const LIVE = ['api.accept.before_cast', 'api.live.after_record', 'scheduler.live.after_claim', 'live.source.after_prepare',
  'live.dest.after_prepare', 'live.source.mid_perform', 'live.source.after_perform', 'live.dest.after_takeover', 'live.dest.before_reply',
  'live.source.after_finish'] as const;

export const FLOW_SPECS: Record<Flow, { points: readonly CrashPointName[]; longStep: LongStep }> = {
  build: { points: ['api.build.before_cast', 'scheduler.build.after_claim', 'build.compute.after_spawn'], longStep: { task: ['scheduling', 'spawning'], stall: 'compute' } },
  'cold-confirm': { points: [...COLD, 'api.confirm.before_cast', 'confirm.source.after_destroy'], longStep: { migration: ['migrating'], stall: 'source' } },
  'resize-revert': { points: [...COLD, 'api.revert.before_cast', 'revert.dest.after_drop', 'revert.source.after_power_on'], longStep: { migration: ['migrating'], stall: 'source' } },
  'live-block': { points: LIVE, longStep: { migration: ['running'], stall: 'source' } },
  // The fake driver's hosts never share instance storage: a shared-storage request fails the destination's checks.
  'live-shared': { points: ['api.accept.before_cast', 'api.live.after_record', 'scheduler.live.after_claim'], longStep: { migration: ['accepted', 'queued', 'error'], stall: 'dest' } },
  abort: { points: ['api.migration_action.before_cast', 'live.source.after_rollback_dest'], longStep: { migration: ['running'], stall: 'source' } },
  // The source killed and forced down, the server evacuated, then the source brought back (it fences on start).
  evacuate: {
    points: ['api.evacuate.after_record', 'scheduler.evacuate.after_claim', 'evacuate.dest.after_take', 'evacuate.dest.after_spawn', 'evacuate.source.after_destroy'],
    longStep: { migration: ['accepted', 'pre-migrating'], stall: 'dest' },
  },
  // The source only forced down, still running (as one cut off from the rest): it pauses its guests and fences the
  // evacuated copy while it runs.
  'evacuate-alive': { points: ['evacuate.dest.after_spawn', 'evacuate.source.after_destroy'], longStep: { migration: ['accepted', 'pre-migrating'], stall: 'source' } },
  'force-complete': { points: ['api.migration_action.before_cast', 'live.source.after_perform', 'live.dest.after_takeover', 'live.dest.before_reply', 'live.source.after_finish'], longStep: { migration: ['running'], stall: 'source' } },
};

/**
 * The failures made behind Ferry's back that `cleanup` repairs (the fake driver's failure modes), each on top of what
 * the database says Ferry last did: a live migration record source → destination in `status`, the instance on the
 * source or the destination with `task`, and whether the destination still holds its claim; or no move at all.
 * `human`: cleanup must refuse (it cannot tell which copy is good), so the cell ends needing a human.
 */
export interface RepairSpec {
  record: { status: 'error' | 'post-migrating'; host: 'source' | 'dest'; task: 'migrating' | null; destClaim: boolean } | null;
  human?: true;
}

export const REPAIRS: Readonly<Record<FailureModeName, RepairSpec>> = {
  xen_freeze: { record: { status: 'error', host: 'source', task: null, destClaim: true } },
  definition_not_written: { record: { status: 'error', host: 'source', task: null, destClaim: false } },
  finalize_dest_only: { record: { status: 'post-migrating', host: 'dest', task: 'migrating', destClaim: true } },
  finalize_source_only: { record: { status: 'post-migrating', host: 'source', task: 'migrating', destClaim: true } },
  started_by_hand: { record: null, human: true },
  moved_by_hand: { record: null },
};

/** The row the report gives the repair cells. */
export const REPAIR_FLOW = 'cleanup';

/**
 * Repairs whose cleanup the API dies in, at a point its steps pass (it is restarted and cleanup asked again). Only
 * repairs behind a finished record: with an open one the computes' own settle may converge first, and the point would
 * not be reached.
 */
export const REPAIR_CRASHES: readonly (readonly [CrashPointName, FailureModeName])[] = [
  ['api.cleanup.mid_steps', 'xen_freeze'],
  ['api.cleanup.after_steps', 'xen_freeze'],
  ['api.cleanup.after_steps', 'definition_not_written'],
  ['api.cleanup.after_steps', 'moved_by_hand'],
];

export type Cell =
  | { id: string; flow: Flow; kind: 'crash'; point: CrashPointName; role: CrashRole }
  | { id: string; flow: Flow; kind: 'fault'; fault: Fault }
  | { id: string; flow: typeof REPAIR_FLOW; kind: 'repair'; mode: FailureModeName; point?: CrashPointName };

export function crashCell(flow: Flow, point: CrashPointName): Cell {
  return { id: `${flow}/crash/${point}`, flow, kind: 'crash', point, role: CRASH_POINTS[point].role };
}

/** Every cell: each flow × each of its crash points (in its role's process), each flow × each fault, then each repair. */
export function allCells(): Cell[] {
  const crashes = FLOWS.flatMap((flow) => FLOW_SPECS[flow].points.map((point) => crashCell(flow, point)));
  const faults = FLOWS.flatMap((flow) => FAULTS.map((fault): Cell => ({ id: `${flow}/fault/${fault}`, flow, kind: 'fault', fault })));
  const repairs = [
    ...(Object.keys(REPAIRS) as FailureModeName[]).map((mode): Cell => ({ id: `${REPAIR_FLOW}/repair/${mode}`, flow: REPAIR_FLOW, kind: 'repair', mode })),
    ...REPAIR_CRASHES.map(([point, mode]): Cell => ({ id: `${REPAIR_FLOW}/crash/${point}/${mode}`, flow: REPAIR_FLOW, kind: 'repair', mode, point })),
  ];
  return [...crashes, ...faults, ...repairs];
}

/** `count` distinct cells chosen by `seed` (all of them when count reaches the matrix size), in matrix order. */
export function sampleCells(cells: readonly Cell[], seed: number, count: number): Cell[] {
  if (count >= cells.length) return [...cells];
  const random = seededRandom(seed);
  const idx = cells.map((_, i) => i);
  for (let i = idx.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, count).sort((a, b) => a - b).map((i) => cells[i]!);
}
