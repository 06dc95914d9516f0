// `ferry audit`'s judgement: what every host's driver holds, against what the database says, as problems per instance.
// Pure: the rows and the hosts' answers come in, the report goes out. The rules are data, each one kind of problem; a
// host that did not answer is named as such and nothing is concluded from its silence.
import type { InstanceStanding } from '@ferry/common/db';
import { migratingGuestName } from '@ferry/common/domain';
import type { HostGuest } from '../client/wire-types';

/** One compute host's answer to list_guests, or why there was none. */
export type HostAnswer = { host: string; answered: true; guests: HostGuest[] } | { host: string; answered: false; reason: string };

/** An unfinished move as the audit needs it. */
export interface OpenMove {
  instance_uuid: string;
  migration_type: string;
  status: string;
  source_compute: string | null;
  dest_compute: string | null;
}

export type ProblemKind =
  | 'unknown_instance'
  | 'deleted_but_held'
  | 'running_on_many_hosts'
  | 'running_elsewhere'
  | 'paused_on_many_hosts'
  | 'not_running'
  | 'stray_copy'
  | 'vm_without_disk'
  | 'renamed_mid_migration'
  | 'runs_without_definition'
  | 'finalize_pending';

export interface Problem {
  kind: ProblemKind;
  detail: string;
}

/** What one host holds of an instance. */
export interface HeldCopy extends Omit<HostGuest, 'uuid'> {
  host: string;
}

export interface InstanceFinding {
  uuid: string;
  /** Null when the database has no row for the instance. */
  database: { host: string | null; vm_state: string; task_state: string | null; deleted: boolean; move: Omit<OpenMove, 'instance_uuid'> | null } | null;
  held: HeldCopy[];
  problems: Problem[];
}

export interface HostSummary {
  host: string;
  answered: boolean;
  /** Why the host did not answer. */
  reason?: string;
  /** How many instances the host holds anything of (hosts that answered). */
  guests?: number;
  /** Live instances the database places on a host that did not answer: not checked. */
  unchecked?: string[];
}

export interface AuditReport {
  hosts: HostSummary[];
  /** Instances with at least one problem. */
  instances: InstanceFinding[];
  /** Every compute host answered. */
  complete: boolean;
  /** No problem was found (among what the hosts that answered hold). */
  clean: boolean;
}

interface Facts {
  row?: InstanceStanding;
  move?: OpenMove;
  held: HeldCopy[];
  answered: ReadonlySet<string>;
}

type Rule = (f: Facts) => Problem | undefined;

const list = (hosts: readonly string[]) => hosts.join(', ');
const holding = (f: Facts, keep: (c: HeldCopy) => boolean) => f.held.filter(keep).map((c) => c.host);
const live = (f: Facts): f is Facts & { row: InstanceStanding } => f.row !== undefined && !f.row.deleted;
/** Hosts the database gives the instance: its host and, during a move, both ends. */
const placed = (f: Facts): Set<string> => new Set([f.row?.host, f.move?.source_compute, f.move?.dest_compute].filter((h): h is string => !!h));

/** The rules, each one kind of problem; every rule that applies is reported. */
const RULES: readonly Rule[] = [
  (f) => (!f.row && f.held.length > 0
    ? { kind: 'unknown_instance', detail: `held on ${list(f.held.map((c) => c.host))}, but the database has no such instance` }
    : undefined),
  (f) => (f.row?.deleted && f.held.length > 0
    ? { kind: 'deleted_but_held', detail: `the instance is deleted, but ${list(f.held.map((c) => `${c.host} (${c.presence})`))} still hold it` }
    : undefined),
  (f) => {
    const running = holding(f, (c) => c.presence === 'running');
    return running.length > 1 ? { kind: 'running_on_many_hosts', detail: `running on ${running.length} hosts: ${list(running)}` } : undefined;
  },
  (f) => {
    if (!live(f)) return undefined;
    const ok = placed(f);
    const elsewhere = holding(f, (c) => c.presence === 'running' && !ok.has(c.host));
    return elsewhere.length > 0
      ? { kind: 'running_elsewhere', detail: `running on ${list(elsewhere)}, which the database does not name (it names ${f.row.host ?? 'no host'})` }
      : undefined;
  },
  (f) => {
    const paused = holding(f, (c) => c.presence === 'paused');
    return live(f) && paused.length > 1 && !f.held.some((c) => c.presence === 'running')
      ? { kind: 'paused_on_many_hosts', detail: `paused on ${list(paused)} and running nowhere${f.move ? ` (${f.move.migration_type} ${f.move.status})` : ''}` }
      : undefined;
  },
  (f) => {
    if (!live(f) || f.row.vm_state !== 'active' || f.row.task_state !== null || !f.row.host || !f.answered.has(f.row.host)) return undefined;
    if (f.held.some((c) => c.presence === 'running')) return undefined;
    const there = f.held.find((c) => c.host === f.row.host)?.presence ?? 'absent';
    return { kind: 'not_running', detail: `the database says active on ${f.row.host}, where it is ${there}; no host that answered runs it` };
  },
  (f) => {
    if (!live(f) || f.row.task_state !== null) return undefined;
    const ok = placed(f);
    const strays = f.held.filter((c) => c.presence !== 'running' && !ok.has(c.host));
    return strays.length > 0
      ? { kind: 'stray_copy', detail: `${list(strays.map((c) => `${c.host} holds ${c.presence === 'absent' ? 'a disk without a VM' : `${c.presence === 'incoming' ? 'an' : 'a'} ${c.presence} copy`}`))}; the database names ${f.row.host ?? 'no host'} and no move involves it` }
      : undefined;
  },
  (f) => {
    const diskless = holding(f, (c) => (c.presence === 'running' || c.presence === 'paused' || c.presence === 'stopped') && !c.has_disk);
    return diskless.length > 0 ? { kind: 'vm_without_disk', detail: `a VM is defined on ${list(diskless)} without its disk` } : undefined;
  },
  (f) => {
    const renamed = f.held.filter((c) => c.name !== null && f.row && c.name === migratingGuestName(f.row.uuid));
    return renamed.length > 0
      ? { kind: 'renamed_mid_migration', detail: `${list(renamed.map((c) => `${c.host} (${c.presence})`))} holds it under its migration name ${renamed[0]!.name}` }
      : undefined;
  },
  (f) => {
    const m = f.move;
    if (!live(f) || m?.migration_type !== 'live-migration' || m.status !== 'post-migrating') return undefined;
    const at = (host: string | null) => `${host ?? '?'} ${f.held.find((c) => c.host === host)?.presence ?? 'holds nothing'}`;
    return { kind: 'finalize_pending', detail: `live migration transferred, finalize not done on both sides: ${at(m.source_compute)}, ${at(m.dest_compute)} (a move in its last instant shows this too: run the audit again)` };
  },
  (f) => {
    const transient = holding(f, (c) => c.transient === true);
    return transient.length > 0 ? { kind: 'runs_without_definition', detail: `runs on ${list(transient)} from memory, with no definition written there` } : undefined;
  },
];

export interface AuditInput {
  /** The database's rows: every live instance and every uuid a host holds. */
  instances: readonly InstanceStanding[];
  moves: readonly OpenMove[];
  hosts: readonly HostAnswer[];
}

export function auditFindings(input: AuditInput): AuditReport {
  const answered = new Set(input.hosts.filter((h) => h.answered).map((h) => h.host));
  const rows = new Map(input.instances.map((r) => [r.uuid, r]));
  const moves = new Map(input.moves.map((m) => [m.instance_uuid, m]));
  const held = new Map<string, HeldCopy[]>();
  for (const answer of input.hosts) {
    if (!answer.answered) continue;
    for (const { uuid, ...guest } of answer.guests) held.set(uuid, [...(held.get(uuid) ?? []), { host: answer.host, ...guest }]);
  }

  const instances: InstanceFinding[] = [];
  for (const uuid of [...new Set([...rows.keys(), ...held.keys()])].sort()) {
    const facts: Facts = { row: rows.get(uuid), move: moves.get(uuid), held: held.get(uuid) ?? [], answered };
    const problems = RULES.flatMap((rule) => rule(facts) ?? []);
    if (problems.length > 0) instances.push({ uuid, database: databaseView(facts), held: facts.held, problems });
  }

  const hosts = input.hosts.map((h): HostSummary => {
    if (h.answered) return { host: h.host, answered: true, guests: h.guests.length };
    const unchecked = input.instances.filter((r) => !r.deleted && r.host === h.host).map((r) => r.uuid);
    return { host: h.host, answered: false, reason: h.reason, unchecked };
  });
  return { hosts, instances, complete: hosts.every((h) => h.answered), clean: instances.length === 0 };
}

function databaseView(f: Facts): InstanceFinding['database'] {
  if (!f.row) return null;
  const m = f.move;
  return {
    host: f.row.host, vm_state: f.row.vm_state, task_state: f.row.task_state, deleted: f.row.deleted,
    move: m ? { migration_type: m.migration_type, status: m.status, source_compute: m.source_compute, dest_compute: m.dest_compute } : null,
  };
}
