// `cleanup`'s judgement for one instance, with Ganeti's migrate --cleanup rules: from the database record of its last
// move and what every host holds of it, which copy is the good one and what to do with the others, or why it cannot
// tell. Pure: facts in, plan out; the rules are data, first match wins. A copy is destroyed only when it provably
// never ran the guest (an incoming VM, a disk) or is the source left behind by a transfer that completed.
import { guestName, migratingGuestName } from '@ferry/common/domain';
import type { GuestPresence } from '../client/wire-types';

/** What one host holds of the instance (hosts holding nothing are left out). */
export interface CleanupCopy {
  host: string;
  name: string | null;
  presence: GuestPresence;
  has_disk: boolean;
  transient?: true;
}

/** The instance's most recent move, finished or not. */
export interface LastMove {
  id: number;
  migration_type: string;
  status: string;
  source_compute: string | null;
  dest_compute: string | null;
  open: boolean;
}

export interface CleanupFacts {
  instance: { uuid: string; host: string | null; vm_state: string; task_state: string | null };
  move: LastMove | null;
  /** What every compute host holds of the instance (all of them answered). */
  copies: CleanupCopy[];
  /** Hosts holding a claim for the instance. */
  claims: string[];
}

/** One idempotent action on a host; the host refuses it when the copy is no longer `expect`. */
export type HostStep =
  | { op: 'destroy'; host: string; expect: GuestPresence; why: string }
  | { op: 'rename_back'; host: string; why: string }
  | { op: 'resume_incoming'; host: string; why: string }
  | { op: 'persist_definition'; host: string; why: string };

export type CleanupOutcome = 'healthy' | 'finish_forward' | 'roll_back' | 'rename_back' | 'adopt' | 'settle';

export type CleanupPlan =
  | { verdict: 'nothing_to_do'; rule: string; reason: string }
  | { verdict: 'refuse'; rule: string; reason: string }
  | {
    verdict: 'converge';
    rule: string;
    outcome: CleanupOutcome;
    reason: string;
    steps: HostStep[];
    /** The database afterwards: the instance on `host` (node, claims there only, no task) and the open move ended. */
    database: { host: string; move?: { id: number; from: string; to: 'completed' | 'failed' } };
  };

interface Derived {
  name: string;
  migrating: string;
  running: CleanupCopy[];
  /** Hosts the database gives the instance: its host and both ends of its last move. */
  named: Set<string>;
}

interface Rule {
  name: string;
  applies(f: CleanupFacts, d: Derived): boolean;
  decide(f: CleanupFacts, d: Derived): CleanupPlan;
}

const LIVE_IN_FLIGHT = ['accepted', 'queued', 'preparing', 'running'];
/** A live move in these statuses sent the guest's whole state: the destination's copy is the newer one. */
const TRANSFER_DONE = ['post-migrating', 'completed'];
const WHOLE: readonly GuestPresence[] = ['running', 'paused', 'stopped'];
/** vm_states in which the guest is rightly not running: its copy on its host is the good one. */
const AT_REST = ['stopped', 'paused', 'suspended'];

const describe = (c: CleanupCopy) =>
  `${c.host}: ${c.presence === 'absent' ? 'a disk, no VM' : c.presence}${c.name && c.presence !== 'absent' ? ` as ${c.name}` : ''}${c.transient ? ', no definition' : ''}`;
const found = (f: CleanupFacts) => (f.copies.length === 0 ? 'no host holds it' : f.copies.map(describe).join('; '));
const hosts = (cs: readonly CleanupCopy[]) => cs.map((c) => c.host).join(' and ');
const moveText = (m: LastMove) => `${m.migration_type} ${m.id} (${m.source_compute ?? '?'} → ${m.dest_compute ?? '?'}, ${m.status})`;
const refuse = (rule: string, reason: string): CleanupPlan => ({ verdict: 'refuse', rule, reason });

/** The copy that holds the guest: the only running one, or, for an instance at rest, the whole copy on its host. */
function goodCopy(f: CleanupFacts, d: Derived): CleanupCopy | undefined {
  if (d.running.length === 1) return d.running[0];
  if (d.running.length > 0 || !AT_REST.includes(f.instance.vm_state)) return undefined;
  return f.copies.find((c) => c.host === f.instance.host && WHOLE.includes(c.presence));
}

/** Whether `other` is provably not the guest: empty, a disk, or the source a completed transfer left behind. */
function provablyStale(f: CleanupFacts, good: CleanupCopy, other: CleanupCopy): string | undefined {
  if (other.presence === 'incoming') return 'an incoming VM that never ran the guest';
  if (other.presence === 'absent') return `a disk left behind; the guest's own disk is on ${good.host}`;
  const m = f.move;
  if (m && m.migration_type === 'live-migration' && TRANSFER_DONE.includes(m.status) && m.dest_compute === good.host && m.source_compute === other.host) {
    return `the source copy of ${moveText(m)}, whose transfer completed: ${good.host} has run the guest since`;
  }
  return undefined;
}

/** Converges on `good`: every other copy must be provably stale, else nothing is touched. */
function settleOn(f: CleanupFacts, d: Derived, good: CleanupCopy, rule: string, first: HostStep[] = []): CleanupPlan {
  const others = f.copies.filter((c) => c.host !== good.host);
  const steps: HostStep[] = [...first];
  for (const other of others) {
    const why = provablyStale(f, good, other);
    if (!why) {
      return refuse(rule, `cannot tell which copy is good: ${describe(good)}; ${describe(other)}. Nothing was changed; stop the wrong one by hand, then run cleanup again`);
    }
    steps.push({ op: 'destroy', host: other.host, expect: other.presence, why });
  }
  if (good.name === d.migrating) steps.push({ op: 'rename_back', host: good.host, why: `it runs under its migration name ${d.migrating}` });
  if (good.transient) steps.push({ op: 'persist_definition', host: good.host, why: 'it runs from memory with no definition written' });

  const m = f.move?.open ? f.move : undefined;
  const forward = m?.dest_compute === good.host;
  const database = { host: good.host, ...(m ? { move: { id: m.id, from: m.status, to: forward ? 'completed' as const : 'failed' as const } } : {}) };
  const claimsRight = f.claims.length === 1 && f.claims[0] === good.host;
  if (steps.length === 0 && !m && f.instance.host === good.host && f.instance.task_state === null && claimsRight) {
    return { verdict: 'nothing_to_do', rule, reason: `${good.presence} on ${good.host} only, as the database says` };
  }
  return { verdict: 'converge', rule, outcome: outcomeOf(f, d, good, forward), reason: `the good copy is on ${good.host} (${found(f)})`, steps, database };
}

function outcomeOf(f: CleanupFacts, d: Derived, good: CleanupCopy, forward: boolean): CleanupOutcome {
  if (!d.named.has(good.host)) return 'adopt';
  if (good.name === d.migrating) return 'rename_back';
  if (forward || (f.move?.dest_compute === good.host && f.instance.host !== good.host)) return 'finish_forward';
  if (f.move?.source_compute === good.host && (f.move.open || f.instance.host !== good.host)) return 'roll_back';
  return 'settle';
}

/** The rules, in order. */
const RULES: readonly Rule[] = [
  {
    name: 'move_in_flight',
    applies: (f) => !!f.move?.open && (f.move.migration_type === 'evacuation' || (f.move.migration_type === 'live-migration' && LIVE_IN_FLIGHT.includes(f.move.status))),
    decide: (f) => refuse('move_in_flight', `${moveText(f.move!)} is in progress and its computes drive it; abort it or let it end, then run cleanup`),
  },
  {
    name: 'resize_awaiting_confirm',
    applies: (f) => !!f.move?.open && f.move.status === 'finished',
    decide: (f) => ({ verdict: 'nothing_to_do', rule: 'resize_awaiting_confirm', reason: `${moveText(f.move!)} awaits confirm or revert; both hosts keep their copy until then` }),
  },
  {
    name: 'cold_move_open',
    applies: (f) => !!f.move?.open && f.move.migration_type !== 'live-migration',
    decide: (f) => refuse('cold_move_open', `${moveText(f.move!)} is in progress; its computes resume or roll it back`),
  },
  {
    name: 'task_in_progress',
    applies: (f) => f.instance.task_state !== null && !f.move?.open,
    decide: (f) => refuse('task_in_progress', `task ${f.instance.task_state} is in progress on the instance; wait for it (or reset the state), then run cleanup`),
  },
  {
    name: 'running_twice',
    applies: (_f, d) => d.running.length > 1,
    decide: (f, d) => refuse('running_twice', `the guest runs on ${hosts(d.running)} (${found(f)}); cannot tell which copy is good. Nothing was changed; stop the wrong one by hand, then run cleanup again`),
  },
  {
    name: 'transfer_done_not_resumed',
    applies: (f, d) => d.running.length === 0 && !!f.move && f.move.migration_type === 'live-migration' && TRANSFER_DONE.includes(f.move.status)
      && f.copies.some((c) => c.host === f.move!.dest_compute && c.presence === 'incoming'),
    decide: (f, d) => {
      const dest = f.copies.find((c) => c.host === f.move!.dest_compute)!;
      const why = `${moveText(f.move!)} sent the whole guest, but ${dest.host} never resumed it`;
      const plan = settleOn(f, d, { ...dest, presence: 'running' }, 'transfer_done_not_resumed', [{ op: 'resume_incoming', host: dest.host, why }]);
      return plan.verdict === 'converge' ? { ...plan, outcome: 'finish_forward', reason: `${why} (${found(f)})` } : plan;
    },
  },
  {
    name: 'one_good_copy',
    applies: (f, d) => goodCopy(f, d) !== undefined,
    decide: (f, d) => {
      const good = goodCopy(f, d)!;
      if (!d.named.has(good.host) && f.copies.some((c) => c.host !== good.host && WHOLE.includes(c.presence))) {
        return refuse('one_good_copy', `the guest runs on ${good.host}, which the database does not name, and a copy is left elsewhere (${found(f)}); cannot tell which is good`);
      }
      return settleOn(f, d, good, 'one_good_copy');
    },
  },
  {
    name: 'nowhere',
    applies: () => true,
    decide: (f) => refuse('nowhere', `no copy can be shown to be the guest (${found(f)}); the database says ${f.instance.vm_state} on ${f.instance.host ?? 'no host'}`),
  },
];

export function cleanupVerdict(f: CleanupFacts): CleanupPlan {
  const d: Derived = {
    name: guestName(f.instance.uuid),
    migrating: migratingGuestName(f.instance.uuid),
    running: f.copies.filter((c) => c.presence === 'running'),
    named: new Set([f.instance.host, f.move?.source_compute, f.move?.dest_compute].filter((h): h is string => !!h)),
  };
  for (const rule of RULES) if (rule.applies(f, d)) return rule.decide(f, d);
  throw new Error('unreachable: the last cleanup rule always applies');
}
