// A move record's phase timings (phase_timings: when each phase started and ended, and what it measured), as cold
// moves and live migrations both write them.
import type { PhaseTimings } from '@ferry/common/db';

/** Adds (or completes) one phase's timing, keeping the others. */
export function withPhase(timings: PhaseTimings, phase: string, fields: Record<string, unknown>): PhaseTimings {
  return { ...timings, [phase]: { ...timings[phase], ...fields } };
}

export const nowIso = (): string => new Date().toISOString();
