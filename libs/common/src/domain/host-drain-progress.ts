// Where each instance of a drain stands, derived from its instance row and the move records it has had since the
// drain began: the drain keeps no per-instance status of its own, so a crash between two writes cannot make it lie.
import type { DrainPlanItem, MoveKind } from './host-drain';

export const DRAIN_ITEM_STATES = ['pending', 'starting', 'in_flight', 'moved', 'failed', 'skipped'] as const;
export type DrainItemState = (typeof DRAIN_ITEM_STATES)[number];

/** Task states a move of the drain holds before its record exists (live: migrating; cold: resize_prep). */
export const MOVE_ACCEPT_TASKS = ['migrating', 'resize_prep'] as const;

const MOVED_STATUSES = ['completed', 'confirmed'];
const ENDED_STATUSES = ['completed', 'confirmed', 'failed', 'error', 'cancelled', 'reverted'];

/** What the database says of one instance of the plan now. */
export interface DrainItemFacts {
  /** Absent: the instance row is gone or deleted. */
  instance?: { host: string | null; task_state: string | null };
  /** Its latest move off the drained host since the drain began. */
  migration?: { id: number; status: string; dest_compute: string | null; last_error: string | null };
  /** Its latest fault since the drain began. */
  fault?: { message: string; at: Date };
}

export interface DrainItemProgress {
  instance_uuid: string;
  name: string;
  move: MoveKind | null;
  state: DrainItemState;
  migration_id: number | null;
  migration_status: string | null;
  dest: string | null;
  reason: string | null;
}

export interface DrainItemContext {
  host: string;
  /** When the drain started this instance's move, if it did. */
  dispatchedAt?: Date;
  /** Why the drain could not start its move, if it could not. */
  refused?: string;
  now: Date;
  /** How long a started move may take to show (its task taken) before the drain starts it again. */
  startGraceMs: number;
}

export function drainItemProgress(item: DrainPlanItem, facts: DrainItemFacts, ctx: DrainItemContext): DrainItemProgress {
  const m = facts.migration;
  const base = {
    instance_uuid: item.instance_uuid, name: item.name, move: item.move, migration_id: m?.id ?? null, migration_status: m?.status ?? null,
    dest: m?.dest_compute ?? null, reason: null,
  };
  const at = (state: DrainItemState, reason: string | null = null, dest = base.dest): DrainItemProgress => ({ ...base, state, reason, dest });
  if (item.skip_reason) return at('skipped', item.skip_reason);
  if (ctx.refused) return at('failed', ctx.refused);
  const i = facts.instance;
  if (!i) return at('skipped', 'deleted during the drain');
  if (m && MOVED_STATUSES.includes(m.status)) return at('moved');
  if (m && !ENDED_STATUSES.includes(m.status)) return at('in_flight');
  if (i.task_state !== null && (MOVE_ACCEPT_TASKS as readonly string[]).includes(i.task_state)) return at('in_flight');
  if (m && i.task_state === null && i.host === ctx.host) return at('failed', m.last_error ?? `its migration ended ${m.status}`);
  if (i.host !== ctx.host) return at('moved', null, i.host);
  if (ctx.dispatchedAt) {
    if (facts.fault && facts.fault.at >= ctx.dispatchedAt) return at('failed', facts.fault.message);
    if (ctx.now.getTime() - ctx.dispatchedAt.getTime() < ctx.startGraceMs) return at('starting');
  }
  return at('pending');
}

/** The drain's tally: how many instances are in each state. */
export function countDrainItems(items: readonly DrainItemProgress[]): Record<DrainItemState, number> {
  const counts = Object.fromEntries(DRAIN_ITEM_STATES.map((s) => [s, 0])) as Record<DrainItemState, number>;
  for (const item of items) counts[item.state]++;
  return counts;
}
