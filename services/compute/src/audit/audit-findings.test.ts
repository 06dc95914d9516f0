import type { InstanceStanding } from '@ferry/common/db';
import { migratingGuestName, POWER_STATES } from '@ferry/common/domain';
import type { GuestPresence } from '../client/wire-types';
import { auditFindings, type AuditInput, type HostAnswer, type OpenMove, type ProblemKind } from './audit-findings';
import type { HostGuest } from '../client/wire-types';

const A = '11111111-1111-4111-8111-111111111111';
const HOSTS = ['h1', 'h2', 'h3'];

const row = (over: Partial<InstanceStanding> = {}): InstanceStanding => ({
  uuid: A, host: 'h1', vm_state: 'active', task_state: null, deleted: false, quiet_seconds: 3600, ...over,
});
const POWER: Record<GuestPresence, HostGuest['power_state']> = {
  running: POWER_STATES.RUNNING, paused: POWER_STATES.PAUSED, incoming: POWER_STATES.PAUSED, stopped: POWER_STATES.SHUTDOWN, absent: null,
};
const guest = (presence: GuestPresence, over: Partial<HostGuest> = {}): HostGuest => ({
  uuid: A, name: presence === 'absent' ? null : 'instance-1', presence, power_state: POWER[presence], has_disk: true, ...over,
});
const move = (over: Partial<OpenMove> = {}): OpenMove => ({
  instance_uuid: A, migration_type: 'live-migration', status: 'running', source_compute: 'h1', dest_compute: 'h2', ...over,
});

/** What each host holds (unlisted hosts answer with nothing); `silent` hosts did not answer. */
function audit(instances: InstanceStanding[], held: Record<string, HostGuest[]>, opts: { moves?: OpenMove[]; silent?: string[] } = {}) {
  const hosts: HostAnswer[] = HOSTS.map((host) => (opts.silent?.includes(host)
    ? { host, answered: false, reason: 'timed out' }
    : { host, answered: true, guests: held[host] ?? [] }));
  const input: AuditInput = { instances, moves: opts.moves ?? [], hosts };
  return auditFindings(input);
}
const kinds = (r: ReturnType<typeof audit>): ProblemKind[] => r.instances.flatMap((i) => i.problems.map((p) => p.kind));

describe('auditFindings', () => {
  it('finds nothing when the guest runs where the database says, alone', () => {
    const r = audit([row()], { h1: [guest('running')] });
    expect(r).toMatchObject({ clean: true, complete: true, instances: [] });
    expect(r.hosts).toEqual([{ host: 'h1', answered: true, guests: 1 }, { host: 'h2', answered: true, guests: 0 }, { host: 'h3', answered: true, guests: 0 }]);
  });

  it('finds nothing in a live migration under way: running on the source, incoming on the destination', () => {
    expect(audit([row({ task_state: 'migrating' })], { h1: [guest('running')], h2: [guest('incoming')] }, { moves: [move()] }).clean).toBe(true);
  });

  it('finds nothing for a stopped instance, or a resize waiting for confirmation (both copies stopped or one running)', () => {
    expect(audit([row({ vm_state: 'stopped' })], { h1: [guest('stopped')] }).clean).toBe(true);
    const resized = row({ host: 'h2', vm_state: 'resized' });
    expect(audit([resized], { h1: [guest('stopped')], h2: [guest('running')] }, { moves: [move({ migration_type: 'resize', status: 'finished' })] }).clean).toBe(true);
  });

  it('reports a guest running on two hosts', () => {
    const r = audit([row()], { h1: [guest('running')], h3: [guest('running')] });
    expect(kinds(r)).toEqual(['running_on_many_hosts', 'running_elsewhere']);
    expect(r.instances[0]!.problems[0]!.detail).toBe('running on 2 hosts: h1, h3');
    expect(r.instances[0]!.held.map((c) => c.host)).toEqual(['h1', 'h3']);
  });

  it('reports a guest running on a host the database does not name', () => {
    const r = audit([row()], { h2: [guest('running')] });
    expect(kinds(r)).toEqual(['running_elsewhere']);
    expect(r.instances[0]!.problems[0]!.detail).toMatch(/running on h2, which the database does not name \(it names h1\)/);
    expect(r.instances[0]!.database).toEqual({ host: 'h1', vm_state: 'active', task_state: null, deleted: false, move: null });
  });

  it('reports an instance the database says is active that runs nowhere', () => {
    const r = audit([row()], { h1: [guest('stopped')] });
    expect(kinds(r)).toEqual(['not_running']);
    expect(r.instances[0]!.problems[0]!.detail).toMatch(/active on h1, where it is stopped/);
    expect(kinds(audit([row()], {}))).toEqual(['not_running']);
  });

  it('does not guess when the host the database names did not answer', () => {
    const r = audit([row()], {}, { silent: ['h1'] });
    expect(r).toMatchObject({ clean: true, complete: false, instances: [] });
    expect(r.hosts[0]).toEqual({ host: 'h1', answered: false, reason: 'timed out', unchecked: [A] });
  });

  it('reports a guest paused on both ends of a migration', () => {
    const r = audit([row({ task_state: 'migrating' })], { h1: [guest('paused')], h2: [guest('paused')] }, { moves: [move()] });
    expect(kinds(r)).toEqual(['paused_on_many_hosts']);
    expect(r.instances[0]!.problems[0]!.detail).toBe('paused on h1, h2 and running nowhere (live-migration running)');
  });

  it('reports what a host still holds of a deleted instance', () => {
    const r = audit([row({ deleted: true, vm_state: 'deleted' })], { h2: [guest('stopped')] });
    expect(kinds(r)).toEqual(['deleted_but_held']);
    expect(r.instances[0]!.problems[0]!.detail).toMatch(/h2 \(stopped\) still hold it/);
  });

  it('reports what a host holds of an instance the database does not know', () => {
    const r = audit([], { h3: [guest('running')] });
    expect(kinds(r)).toEqual(['unknown_instance']);
    expect(r.instances[0]!.database).toBeNull();
  });

  it('reports a stopped copy or a disk without a VM left on a host no move involves', () => {
    expect(kinds(audit([row()], { h1: [guest('running')], h2: [guest('stopped')] }))).toEqual(['stray_copy']);
    const r = audit([row()], { h1: [guest('running')], h3: [guest('absent')] });
    expect(r.instances[0]!.problems).toEqual([{ kind: 'stray_copy', detail: 'h3 holds a disk without a VM; the database names h1 and no move involves it' }]);
  });

  it('reports a VM defined without its disk, wherever it is', () => {
    expect(kinds(audit([row()], { h1: [guest('running', { has_disk: false })] }))).toEqual(['vm_without_disk']);
  });

  it('takes a guest under another name for what it is (renamed mid-migration)', () => {
    const r = audit([row()], { h1: [guest('running')], h2: [guest('running', { name: 'instance-1-migrating' })] });
    expect(kinds(r)).toEqual(['running_on_many_hosts', 'running_elsewhere']);
    expect(r.instances[0]!.held[1]).toMatchObject({ host: 'h2', name: 'instance-1-migrating' });
  });

  it('names a guest running under its migration name, and one running with no definition written', () => {
    expect(kinds(audit([row()], { h1: [guest('running', { name: migratingGuestName(A) })], h2: [guest('incoming')] })))
      .toEqual(['stray_copy', 'renamed_mid_migration']);
    expect(kinds(audit([row()], { h2: [guest('running', { transient: true })] }))).toEqual(['running_elsewhere', 'runs_without_definition']);
  });

  it('names a live migration whose finalize is pending on one side', () => {
    const r = audit([row({ host: 'h2', task_state: 'migrating' })], { h1: [guest('paused')], h2: [guest('running')] }, { moves: [move({ status: 'post-migrating' })] });
    expect(kinds(r)).toEqual(['finalize_pending']);
    expect(r.instances[0]!.problems[0]!.detail).toMatch(/h1 paused, h2 running/);
  });
});
