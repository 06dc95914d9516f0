// A host drain as data: how each instance leaves the host in each mode, the order a careful operator moves them in
// (small and idle first), and what one live migration costs of the host's link.
import { VM_STATES } from './instance-states';

export const DRAIN_MODES = ['live', 'cold', 'auto'] as const;
export type DrainMode = (typeof DRAIN_MODES)[number];

/** running: moving instances; cancelling: starts nothing new, waits for the moves under way; then one of the ends. */
export const DRAIN_STATUSES = ['running', 'cancelling', 'cancelled', 'completed'] as const;
export type DrainStatus = (typeof DRAIN_STATUSES)[number];
export const OPEN_DRAIN_STATUSES: readonly DrainStatus[] = ['running', 'cancelling'];

export type MoveKind = 'live' | 'cold';

/** What a drain does with one instance: move it one way, or leave it with the reason. */
export type DrainDecision = { move: MoveKind } | { skip: string };

/** One instance of a drain's plan, in the order the drain moves them. */
export interface DrainPlanItem {
  instance_uuid: string;
  name: string;
  vm_state: string;
  memory_mb: number;
  root_gb: number;
  move: MoveKind | null;
  skip_reason: string | null;
}

/** How an instance in vm_state leaves its host in mode: live where it runs (active, paused), cold where it must. */
export function drainDecision(mode: DrainMode, vmState: string): DrainDecision {
  switch (vmState) {
    case VM_STATES.ACTIVE:
      return { move: mode === 'cold' ? 'cold' : 'live' };
    case VM_STATES.PAUSED:
      return mode === 'cold' ? { skip: 'paused: a cold migration needs it active or stopped (unpause it, or drain in mode live or auto)' } : { move: 'live' };
    case VM_STATES.STOPPED:
      return mode === 'live' ? { skip: 'stopped: mode live moves only active and paused servers (drain in mode cold or auto)' } : { move: 'cold' };
    case VM_STATES.RESIZED:
      return { skip: 'resized: confirm or revert its resize first' };
    default:
      return { skip: `${vmState}: only active, paused and stopped servers are moved` };
  }
}

/** Idle guests before running ones of the same size: nothing of theirs changes while they move. */
const IDLE_FIRST: Readonly<Record<string, number>> = { [VM_STATES.STOPPED]: 0, [VM_STATES.PAUSED]: 1 };

export interface DrainCandidate {
  uuid: string;
  display_name: string | null;
  vm_state: string;
  flavor: { memory_mb: number; root_gb: number };
}

/** The drain's plan: every instance of the host, smallest RAM first, then smallest disk, idle first, then by uuid. */
export function planDrain(mode: DrainMode, instances: readonly DrainCandidate[]): DrainPlanItem[] {
  const items = instances.map((i): DrainPlanItem => {
    const decision = drainDecision(mode, i.vm_state);
    return {
      instance_uuid: i.uuid, name: i.display_name ?? '', vm_state: i.vm_state, memory_mb: i.flavor.memory_mb, root_gb: i.flavor.root_gb,
      move: 'move' in decision ? decision.move : null, skip_reason: 'skip' in decision ? decision.skip : null,
    };
  });
  const idle = (s: string) => IDLE_FIRST[s] ?? 2;
  return items.sort((a, b) => a.memory_mb - b.memory_mb || a.root_gb - b.root_gb || idle(a.vm_state) - idle(b.vm_state)
    || a.instance_uuid.localeCompare(b.instance_uuid));
}
