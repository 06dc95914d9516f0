import { guestName, migratingGuestName } from '@ferry/common/domain';
import type { GuestPresence } from '../client/wire-types';
import { cleanupVerdict, type CleanupCopy, type CleanupFacts, type LastMove } from './cleanup-verdict';

const UUID = '0b1c2d3e-0000-4000-8000-000000000001';
const NAME = guestName(UUID);
const RENAMED = migratingGuestName(UUID);

const copy = (host: string, presence: GuestPresence, extra: Partial<CleanupCopy> = {}): CleanupCopy =>
  ({ host, name: presence === 'absent' ? null : NAME, presence, has_disk: true, ...extra });
const live = (status: string, open: boolean): LastMove =>
  ({ id: 7, migration_type: 'live-migration', status, source_compute: 'S', dest_compute: 'D', open });
const facts = (copies: CleanupCopy[], over: Partial<CleanupFacts> & { host?: string; vm_state?: string; task_state?: string | null } = {}): CleanupFacts => ({
  instance: { uuid: UUID, host: over.host ?? 'S', vm_state: over.vm_state ?? 'active', task_state: over.task_state ?? null },
  move: over.move ?? null,
  copies,
  claims: over.claims ?? [over.host ?? 'S'],
});

describe('cleanupVerdict', () => {
  it('finds nothing to do for a healthy instance', () => {
    expect(cleanupVerdict(facts([copy('S', 'running')]))).toMatchObject({ verdict: 'nothing_to_do', rule: 'one_good_copy' });
    expect(cleanupVerdict(facts([copy('S', 'stopped')], { vm_state: 'stopped' }))).toMatchObject({ verdict: 'nothing_to_do' });
    expect(cleanupVerdict(facts([copy('S', 'running')], { move: live('completed', false), host: 'S' }))).toMatchObject({ verdict: 'nothing_to_do' });
  });

  it('renames the source back and drops the empty paused domain after the Xen freeze', () => {
    const plan = cleanupVerdict(facts([copy('S', 'running', { name: RENAMED }), copy('D', 'incoming')], { move: live('error', false), claims: ['S', 'D'] }));
    expect(plan).toMatchObject({
      verdict: 'converge', outcome: 'rename_back', database: { host: 'S' },
      steps: [{ op: 'destroy', host: 'D', expect: 'incoming' }, { op: 'rename_back', host: 'S' }],
    });
    expect(plan.verdict === 'converge' && plan.database.move).toBeUndefined();
  });

  it('ends an open move failed when it rolls back to the renamed source', () => {
    expect(cleanupVerdict(facts([copy('S', 'running', { name: RENAMED }), copy('D', 'incoming')], { move: live('post-migrating', true), task_state: 'migrating' })))
      .toMatchObject({ verdict: 'converge', database: { host: 'S', move: { id: 7, from: 'post-migrating', to: 'failed' } } });
  });

  it('refuses a renamed source when the destination holds a copy that may have run', () => {
    expect(cleanupVerdict(facts([copy('S', 'running', { name: RENAMED }), copy('D', 'paused')], { move: live('error', false) })))
      .toMatchObject({ verdict: 'refuse', reason: expect.stringMatching(/S: running as migrating-.*D: paused/) });
  });

  it('finishes forward and writes the definition of a guest that runs from memory on the destination', () => {
    expect(cleanupVerdict(facts([copy('D', 'running', { transient: true })], { move: live('error', false) }))).toMatchObject({
      verdict: 'converge', outcome: 'finish_forward', database: { host: 'D' }, steps: [{ op: 'persist_definition', host: 'D' }],
    });
  });

  it('finishes forward when finalize ran on the destination only: the source copy is destroyed', () => {
    expect(cleanupVerdict(facts([copy('S', 'paused'), copy('D', 'running')], { host: 'D', claims: ['S', 'D'], task_state: 'migrating', move: live('post-migrating', true) })))
      .toMatchObject({
        verdict: 'converge', outcome: 'finish_forward', steps: [{ op: 'destroy', host: 'S', expect: 'paused' }],
        database: { host: 'D', move: { from: 'post-migrating', to: 'completed' } },
      });
  });

  it('resumes the destination when finalize ran on the source only and the transfer completed', () => {
    expect(cleanupVerdict(facts([copy('D', 'incoming')], { move: live('post-migrating', true), task_state: 'migrating' }))).toMatchObject({
      verdict: 'converge', outcome: 'finish_forward', steps: [{ op: 'resume_incoming', host: 'D' }],
      database: { host: 'D', move: { to: 'completed' } },
    });
    expect(cleanupVerdict(facts([copy('S', 'paused'), copy('D', 'incoming')], { move: live('completed', false), host: 'D' }))).toMatchObject({
      verdict: 'converge', steps: [{ op: 'resume_incoming', host: 'D' }, { op: 'destroy', host: 'S', expect: 'paused' }],
    });
  });

  it('never resumes an incoming VM whose transfer the record does not show complete', () => {
    expect(cleanupVerdict(facts([copy('D', 'incoming')], { move: live('error', false) }))).toMatchObject({ verdict: 'refuse', rule: 'nowhere' });
  });

  it('rolls back to the source when only the source runs the guest', () => {
    expect(cleanupVerdict(facts([copy('S', 'running'), copy('D', 'incoming')], { host: 'D', move: live('error', false), claims: ['D'] }))).toMatchObject({
      verdict: 'converge', outcome: 'roll_back', steps: [{ op: 'destroy', host: 'D', expect: 'incoming' }], database: { host: 'S' },
    });
  });

  it('keeps a paused destination copy when the source runs: it may have taken over', () => {
    expect(cleanupVerdict(facts([copy('S', 'running'), copy('D', 'paused')], { move: live('failed', false) }))).toMatchObject({ verdict: 'refuse' });
    // A source left paused by a transfer that did not complete is no stale copy either.
    expect(cleanupVerdict(facts([copy('S', 'paused'), copy('D', 'running')], { move: live('failed', false) }))).toMatchObject({ verdict: 'refuse' });
  });

  it('adopts a guest that runs only on a host the database does not name', () => {
    expect(cleanupVerdict(facts([copy('X', 'running')]))).toMatchObject({ verdict: 'converge', outcome: 'adopt', steps: [], database: { host: 'X' } });
    expect(cleanupVerdict(facts([copy('X', 'running'), copy('S', 'absent')]))).toMatchObject({
      verdict: 'converge', outcome: 'adopt', steps: [{ op: 'destroy', host: 'S', expect: 'absent' }],
    });
  });

  it('refuses to adopt while a copy is left on another host', () => {
    expect(cleanupVerdict(facts([copy('X', 'running'), copy('S', 'stopped')]))).toMatchObject({ verdict: 'refuse', reason: expect.stringMatching(/X.*S: stopped/) });
  });

  it('refuses a guest running on two hosts, naming both, whatever the record says', () => {
    for (const move of [null, live('completed', false), live('failed', false), live('post-migrating', true)]) {
      const plan = cleanupVerdict(facts([copy('S', 'running'), copy('X', 'running')], { move }));
      expect(plan).toMatchObject({ verdict: 'refuse', rule: 'running_twice', reason: expect.stringContaining('S and X') });
    }
  });

  it('refuses while a move is in flight or another task runs, and leaves a resize awaiting confirm alone', () => {
    for (const status of ['accepted', 'queued', 'preparing', 'running']) {
      expect(cleanupVerdict(facts([copy('S', 'running')], { move: live(status, true), task_state: 'migrating' }))).toMatchObject({ verdict: 'refuse', rule: 'move_in_flight' });
    }
    const cold = (status: string): LastMove => ({ ...live(status, true), migration_type: 'resize' });
    expect(cleanupVerdict(facts([copy('S', 'stopped'), copy('D', 'running')], { move: cold('finished'), host: 'D', vm_state: 'resized' })))
      .toMatchObject({ verdict: 'nothing_to_do', rule: 'resize_awaiting_confirm' });
    expect(cleanupVerdict(facts([copy('S', 'running')], { move: cold('migrating'), task_state: 'resize_migrating' }))).toMatchObject({ verdict: 'refuse', rule: 'cold_move_open' });
    expect(cleanupVerdict(facts([copy('S', 'running')], { task_state: 'powering-off' }))).toMatchObject({ verdict: 'refuse', rule: 'task_in_progress' });
  });

  it('frees claims left on other hosts of a healthy guest', () => {
    expect(cleanupVerdict(facts([copy('S', 'running')], { claims: ['S', 'D'] }))).toMatchObject({ verdict: 'converge', steps: [], database: { host: 'S' } });
  });

  it('refuses when nothing runs and the instance should', () => {
    expect(cleanupVerdict(facts([]))).toMatchObject({ verdict: 'refuse', reason: expect.stringContaining('no host holds it') });
    expect(cleanupVerdict(facts([copy('S', 'stopped')]))).toMatchObject({ verdict: 'refuse', rule: 'nowhere' });
  });

  it('answers every combination of two hosts without throwing, never destroying a running copy', () => {
    const presences: (GuestPresence | null)[] = [null, 'absent', 'incoming', 'running', 'paused', 'stopped'];
    const moves = [null, live('post-migrating', true), live('completed', false), live('failed', false), live('error', false)];
    for (const s of presences) for (const d of presences) for (const move of moves) for (const vm_state of ['active', 'stopped']) {
      const copies = [s && copy('S', s), d && copy('D', d)].filter((c): c is CleanupCopy => !!c);
      const plan = cleanupVerdict(facts(copies, { move, vm_state, task_state: move?.open ? 'migrating' : null }));
      if (plan.verdict === 'converge') {
        for (const step of plan.steps.filter((x) => x.op === 'destroy')) expect(step).not.toMatchObject({ expect: 'running' });
        expect(copies.some((c) => c.host === plan.database.host)).toBe(true);
      }
    }
  });
});
