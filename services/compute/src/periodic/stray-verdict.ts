// What a host may do with something it holds of an instance (a VM, an incoming VM, a disk, a claim) that the database
// may not need: the rules as data, first match wins. Only what is proven to be nobody's copy is removed; a guest that
// runs here while the database names another host is reported, never touched (which copy is good is not this pass's
// call).
import type { GuestPresence } from '../client/wire-types';

/** What the database says about one instance, seen from this host. */
export interface StrayFacts {
  /** This host. */
  host: string;
  /** Undefined when the database has no row at all for the instance. */
  instance?: { host: string | null; task_state: string | null; deleted: boolean };
  /** An unfinished move of the instance names this host as its source or destination. */
  openMoveHere: boolean;
  /** Seconds since the instance or any of its moves last changed. */
  quietSeconds: number;
}

/** How the database stands to what this host holds of the instance. */
export type Standing =
  | 'unknown' // no row: perhaps another database's, or a restored one; nothing to prove it is garbage
  | 'deleted' // the instance is gone (Nova's "running deleted instance")
  | 'ours' // the database names this host
  | 'busy' // a task or a move is under way: its flow (or recovery) owns what this host holds
  | 'settling' // it changed within the grace period; a step may still be on its way here
  | 'stray'; // nothing in the database needs this host to hold it

export function standingOf(f: StrayFacts, graceSeconds: number): Standing {
  if (!f.instance) return 'unknown';
  if (f.instance.deleted) return 'deleted';
  if (f.instance.host === f.host) return 'ours';
  if (f.instance.task_state !== null || f.openMoveHere) return 'busy';
  if (f.quietSeconds < graceSeconds) return 'settling';
  return 'stray';
}

export type GuestVerdict =
  | { action: 'keep' }
  | { action: 'report'; reason: string }
  /** Destroy; when `proveCopyOn` is set, only once that host shows it holds a defined copy of the guest. */
  | { action: 'destroy'; reason: string; proveCopyOn?: string };

type GuestRule = (standing: Standing, presence: GuestPresence, dbHost: string | null) => GuestVerdict | undefined;

/** The rules for a guest (or its files) found on this host, in order. */
const GUEST_RULES: readonly GuestRule[] = [
  (s) => (s === 'ours' || s === 'busy' || s === 'settling' ? { action: 'keep' } : undefined),
  (s, p) => (s === 'unknown' ? { action: 'report', reason: `the database has no such instance (${p} here); left as it is` } : undefined),
  (s, p) => (s === 'deleted' ? { action: 'destroy', reason: `the instance was deleted (${p} here)` } : undefined),
  // stray from here on
  (_s, p) => (p === 'incoming' ? { action: 'destroy', reason: 'incoming VM of a move that is over (it never ran the guest)' } : undefined),
  (_s, p, dbHost) => {
    if (p !== 'absent') return undefined;
    if (!dbHost) return { action: 'report', reason: 'disk left by a move, and the database names no host to hold the instance; left as it is' };
    return { action: 'destroy', reason: `disk left by a move that is over; the instance lives on ${dbHost}`, proveCopyOn: dbHost };
  },
  (_s, p, dbHost) => ({
    action: 'report',
    reason: `guest is ${p} here while the database names ${dbHost ?? 'no host'} and no move involves this host; left as it is for an operator`,
  }),
];

export function guestVerdict(standing: Standing, presence: GuestPresence, dbHost: string | null): GuestVerdict {
  for (const rule of GUEST_RULES) {
    const verdict = rule(standing, presence, dbHost);
    if (verdict) return verdict;
  }
  throw new Error('unreachable: the last guest rule always answers');
}

/**
 * A claim this host holds is released once the instance is deleted, or nothing in the database needs it here, and no
 * guest of the instance is left on this host (a guest kept for an operator keeps its resources counted here too).
 */
export function claimReleasable(standing: Standing, guestLeftHere: boolean): boolean {
  return !guestLeftHere && (standing === 'deleted' || standing === 'stray');
}
