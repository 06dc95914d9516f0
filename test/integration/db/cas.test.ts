import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Instance, Migration, advanceInstanceTask, advanceMigration, advanceMoveAndInstance, createMigration, migrate, openDatabase, patchMigration,
  takeTaskWithAction, updateInstanceIf, type FerryDatabase,
} from '@ferry/common/db';
import { InvalidTransition } from '@ferry/common/domain';
import { createTestDatabase, type TestDatabase } from '../../support/db';
import { insertInstance, insertMigration, TINY } from './fixtures';

const RACERS = 50;

describe('compare-and-set status writes on Postgres', () => {
  let tdb: TestDatabase;
  let db: FerryDatabase;

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = await openDatabase({ url: tdb.url, stateDir: mkdtempSync(join(tmpdir(), 'ferry-cas-')), poolSize: 12 });
    await migrate(db.dataSource);
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });

  const reload = (id: number) => db.dataSource.getRepository(Migration).findOneByOrFail({ id });

  it(`lets exactly one of ${RACERS} concurrent racers win a migration transition, and keeps the winner's patch`, async () => {
    const inst = await insertInstance(db.dataSource);
    const mig = await insertMigration(db.dataSource, { instance_uuid: inst.uuid, status: 'migrating' });
    const results = await Promise.all(
      Array.from({ length: RACERS }, (_, i) => advanceMigration(db.dataSource, mig.id, ['migrating'], 'post-migrating', 'source', { last_error: `racer-${i}`, disk_processed: i })),
    );
    const winners = results.flatMap((won, i) => (won ? [i] : []));
    expect(winners).toHaveLength(1);
    const row = await reload(mig.id);
    expect(row.status).toBe('post-migrating');
    expect(row.last_error).toBe(`racer-${winners[0]}`);
    expect(row.disk_processed).toBe(winners[0]);
    expect(row.updated_at.getTime()).toBeGreaterThanOrEqual(mig.updated_at.getTime());
  });

  it('accepts any of several from-statuses and reports a lost race as false', async () => {
    const inst = await insertInstance(db.dataSource);
    const mig = await insertMigration(db.dataSource, { instance_uuid: inst.uuid, migration_type: 'live-migration', status: 'preparing' });
    expect(await advanceMigration(db.dataSource, mig.id, ['queued', 'preparing', 'running'], 'cancelled', 'source')).toBe(true);
    expect(await advanceMigration(db.dataSource, mig.id, ['queued', 'preparing', 'running'], 'cancelled', 'source')).toBe(false);
    expect((await reload(mig.id)).status).toBe('cancelled');
  });

  it('throws InvalidTransition for an illegal transition before touching the row', async () => {
    const inst = await insertInstance(db.dataSource);
    const mig = await insertMigration(db.dataSource, { instance_uuid: inst.uuid, status: 'confirmed', last_error: null });
    const before = await reload(mig.id);
    await expect(advanceMigration(db.dataSource, mig.id, ['confirmed'], 'migrating', 'source', { last_error: 'should not land' })).rejects.toBeInstanceOf(InvalidTransition);
    await expect(advanceMigration(db.dataSource, mig.id, ['confirmed', 'pre-migrating'], 'migrating', 'source')).rejects.toBeInstanceOf(InvalidTransition);
    await expect(advanceMigration(db.dataSource, mig.id, [], 'migrating', 'source')).rejects.toBeInstanceOf(InvalidTransition);
    expect(await reload(mig.id)).toEqual(before);
  });

  it("refuses a step the row's own migration type does not allow", async () => {
    const inst = await insertInstance(db.dataSource);
    // pre-migrating → done is an evacuation step; a resize record in pre-migrating must not take it.
    const mig = await insertMigration(db.dataSource, { instance_uuid: inst.uuid, migration_type: 'resize', status: 'pre-migrating' });
    expect(await advanceMigration(db.dataSource, mig.id, ['pre-migrating'], 'done', 'dest')).toBe(false);
    expect((await reload(mig.id)).status).toBe('pre-migrating');
  });

  it('refuses a write by a role the table does not name for it, before touching the row', async () => {
    const inst = await insertInstance(db.dataSource);
    const mig = await insertMigration(db.dataSource, { instance_uuid: inst.uuid, migration_type: 'resize', status: 'migrating', last_error: null });
    const before = await reload(mig.id);
    // migrating → post-migrating is the source's step; the destination, the API and the scheduler may not write it.
    for (const role of ['dest', 'api', 'scheduler'] as const) {
      await expect(advanceMigration(db.dataSource, mig.id, ['migrating'], 'post-migrating', role, { last_error: 'should not land' }))
        .rejects.toThrow(new RegExp(`migrating -> post-migrating may not be written by ${role}`));
    }
    // One forbidden pair among allowed ones refuses the whole write (the API may cancel a queued live migration, not a running one).
    await expect(advanceMigration(db.dataSource, mig.id, ['queued', 'running'], 'cancelled', 'api')).rejects.toThrow(/running -> cancelled may not be written by api/);
    expect(await reload(mig.id)).toEqual(before);
    expect(await advanceMigration(db.dataSource, mig.id, ['migrating'], 'post-migrating', 'source')).toBe(true);
  });

  it("refuses a role the row's own type does not name, though another type's table does", async () => {
    const inst = await insertInstance(db.dataSource);
    // The source may fail a cold move in pre-migrating, but an evacuation there is the destination's (or the API's) to fail.
    const mig = await insertMigration(db.dataSource, { instance_uuid: inst.uuid, migration_type: 'evacuation', status: 'pre-migrating', last_error: null });
    const before = await reload(mig.id);
    expect(await advanceMigration(db.dataSource, mig.id, ['pre-migrating'], 'error', 'source', { last_error: 'should not land' })).toBe(false);
    expect(await reload(mig.id)).toEqual(before);
    expect(await advanceMigration(db.dataSource, mig.id, ['pre-migrating'], 'error', 'dest')).toBe(true);
  });

  it('rejects a patch that writes the status or an unknown column', async () => {
    const inst = await insertInstance(db.dataSource);
    const mig = await insertMigration(db.dataSource, { instance_uuid: inst.uuid, status: 'pre-migrating' });
    await expect(advanceMigration(db.dataSource, mig.id, ['pre-migrating'], 'migrating', 'source', { status: 'finished' })).rejects.toThrow(/status/);
    await expect(advanceMigration(db.dataSource, mig.id, ['pre-migrating'], 'migrating', 'source', { nope: 1 } as never)).rejects.toThrow(/nope/);
    expect((await reload(mig.id)).status).toBe('pre-migrating');
  });

  it('writes jsonb patches and progress only while the status still matches', async () => {
    const inst = await insertInstance(db.dataSource);
    const mig = await insertMigration(db.dataSource, { instance_uuid: inst.uuid, status: 'pre-migrating' });
    const timings = { copy_pass_1: { started_at: '2026-01-01T00:00:00Z' } };
    expect(await advanceMigration(db.dataSource, mig.id, ['pre-migrating'], 'migrating', 'source', { phase_timings: timings, disk_total: 2 ** 40 })).toBe(true);
    expect(await patchMigration(db.dataSource, mig.id, ['migrating'], { disk_processed: 2 ** 39, disk_remaining: 2 ** 39 })).toBe(true);
    expect(await patchMigration(db.dataSource, mig.id, ['post-migrating'], { disk_processed: 1 })).toBe(false);
    const row = await reload(mig.id);
    expect(row).toMatchObject({ status: 'migrating', phase_timings: timings, disk_total: 2 ** 40, disk_processed: 2 ** 39 });
  });

  it('creates records only in a status their type may start in', async () => {
    const inst = await insertInstance(db.dataSource);
    const mig = await createMigration(db.dataSource, { instance_uuid: inst.uuid, migration_type: 'live-migration', source_compute: 'a', dest_compute: 'b' }, 'dest');
    expect(mig).toMatchObject({ status: 'queued', migration_type: 'live-migration', hidden: false, phase_timings: {} });
    expect(typeof mig.id).toBe('number');
    await expect(createMigration(db.dataSource, { instance_uuid: inst.uuid, migration_type: 'resize', status: 'finished' }, 'dest')).rejects.toBeInstanceOf(InvalidTransition);
    // Only the destination creates a live migration `queued` (after its checks); the API records it `accepted`.
    await expect(createMigration(db.dataSource, { instance_uuid: inst.uuid, migration_type: 'live-migration', status: 'queued' }, 'api')).rejects.toThrow(/by api/);
    await expect(createMigration(db.dataSource, { instance_uuid: inst.uuid, migration_type: 'resize' }, 'source')).rejects.toBeInstanceOf(InvalidTransition);
  });

  describe('instance task_state', () => {
    const reloadInstance = (uuid: string) => db.dataSource.getRepository(Instance).findOneByOrFail({ uuid });

    it(`lets exactly one of ${RACERS} racers take an instance with no task (NULL from-state)`, async () => {
      const inst = await insertInstance(db.dataSource, { task_state: null });
      const results = await Promise.all(
        Array.from({ length: RACERS }, (_, i) => advanceInstanceTask(db.dataSource, inst.uuid, [null], 'resize_prep', { progress: i })),
      );
      const winners = results.flatMap((won, i) => (won ? [i] : []));
      expect(winners).toHaveLength(1);
      const row = await reloadInstance(inst.uuid);
      expect(row.task_state).toBe('resize_prep');
      expect(row.progress).toBe(winners[0]);
    });

    it('keeps the winner\'s remembered request values with its task, merged into system_metadata; losers write none', async () => {
      const inst = await insertInstance(db.dataSource, { task_state: null, system_metadata: { keep: 'me', stale: 'old' } });
      const results = await Promise.all(
        Array.from({ length: RACERS }, (_, i) => advanceInstanceTask(db.dataSource, inst.uuid, [null], 'resize_prep', undefined, { host: `h${i}`, stale: null })),
      );
      const winners = results.flatMap((won, i) => (won ? [i] : []));
      expect(winners).toHaveLength(1);
      expect((await reloadInstance(inst.uuid)).system_metadata).toEqual({ keep: 'me', host: `h${winners[0]}` });
    });

    it('matches named states and NULL together, and clears the task back to NULL', async () => {
      const inst = await insertInstance(db.dataSource, { task_state: 'resize_migrated' });
      expect(await advanceInstanceTask(db.dataSource, inst.uuid, [null], 'resize_prep')).toBe(false);
      expect(await advanceInstanceTask(db.dataSource, inst.uuid, [null, 'resize_migrated'], 'resize_finish', { host: 'compute-2' })).toBe(true);
      expect(await advanceInstanceTask(db.dataSource, inst.uuid, ['resize_finish'], null, { vm_state: 'resized' })).toBe(true);
      expect(await reloadInstance(inst.uuid)).toMatchObject({ task_state: null, vm_state: 'resized', host: 'compute-2' });
    });

    it('throws InvalidTransition for an unknown task state and leaves the row alone', async () => {
      const inst = await insertInstance(db.dataSource, { task_state: null });
      await expect(advanceInstanceTask(db.dataSource, inst.uuid, [null], 'teleporting')).rejects.toBeInstanceOf(InvalidTransition);
      await expect(advanceInstanceTask(db.dataSource, inst.uuid, ['nope'], null)).rejects.toBeInstanceOf(InvalidTransition);
      expect((await reloadInstance(inst.uuid)).task_state).toBeNull();
    });

    it('takes the task and opens the action in one statement; a lost race writes neither', async () => {
      const inst = await insertInstance(db.dataSource, { task_state: null, system_metadata: { keep: 'me', drop: 'me' } });
      const ctx = (n: number) => ({ request_id: `req-take-${inst.uuid}-${n}`, user_id: 'u1', project_id: 'p1' });
      const results = await Promise.all(Array.from({ length: RACERS }, (_, n) => takeTaskWithAction(db.dataSource,
        { uuid: inst.uuid, from: [null], to: 'resize_prep', patch: { progress: n }, remember: { host_asked: `h-${n}`, drop: null } }, ctx(n), 'migrate')));
      const winners = results.flatMap((won, n) => (won ? [n] : []));
      expect(winners).toHaveLength(1);
      const row = await db.dataSource.getRepository(Instance).findOneByOrFail({ uuid: inst.uuid });
      expect(row).toMatchObject({ task_state: 'resize_prep', progress: winners[0], system_metadata: { keep: 'me', host_asked: `h-${winners[0]}` } });
      expect(row.system_metadata).not.toHaveProperty('drop');
      const actions = await db.dataSource.query('SELECT action, request_id, user_id, project_id, start_time FROM instance_actions WHERE instance_uuid = $1', [inst.uuid]);
      expect(actions).toEqual([{ action: 'migrate', request_id: ctx(winners[0]!).request_id, user_id: 'u1', project_id: 'p1', start_time: expect.any(Date) }]);
      await expect(takeTaskWithAction(db.dataSource, { uuid: inst.uuid, from: ['resize_prep'], to: 'no-such-task' }, ctx(0), 'migrate'))
        .rejects.toBeInstanceOf(InvalidTransition);
    });

    it('never advances a deleted instance', async () => {
      const inst = await insertInstance(db.dataSource, { task_state: null });
      await db.dataSource.getRepository(Instance).softDelete({ uuid: inst.uuid });
      expect(await advanceInstanceTask(db.dataSource, inst.uuid, [null], 'deleting')).toBe(false);
    });
  });

  describe('a move record and its instance in one statement', () => {
    const reloadInstance = (uuid: string) => db.dataSource.getRepository(Instance).findOneByOrFail({ uuid });
    const BIG = { ...TINY, name: 'm1.big', memory_mb: 4096, extra_specs: { 'hw:cpu_policy': 'dedicated' } };

    it('advances both, writing jsonb (arrays included) and flavors as the ORM reads them back', async () => {
      const inst = await insertInstance(db.dataSource, { task_state: 'resize_prep' });
      const mig = await insertMigration(db.dataSource, { instance_uuid: inst.uuid, status: 'pre-migrating' });
      const timings = { migrating: { started_at: '2026-12-06T00:00:00.000Z' }, copy_pass_2: { ranges: [[0, 4096], [8192, 512]] } };
      const done = await advanceMoveAndInstance(db.dataSource,
        { migrationId: mig.id, from: ['pre-migrating'], to: 'migrating', by: 'source', patch: { phase_timings: timings, migrate_data: { pass2_files: ['a', 'b'] } } },
        { uuid: inst.uuid, expected: { task_states: ['resize_prep'], host: 'compute-1' }, patch: { task_state: 'resize_migrating', progress: 0, new_flavor: BIG } });
      expect(done).toEqual({ record: true, instance: true });
      const row = await reload(mig.id);
      expect(row.status).toBe('migrating');
      expect(row.phase_timings).toEqual(timings);
      expect(row.migrate_data).toEqual({ pass2_files: ['a', 'b'] });
      const i = await reloadInstance(inst.uuid);
      expect(i.task_state).toBe('resize_migrating');
      expect(i.new_flavor).toEqual(BIG);
      expect(i.updated_at.getTime()).toBeGreaterThanOrEqual(inst.updated_at.getTime());
    });

    it('leaves the instance alone when the record is not in a from-status, though the instance matches', async () => {
      const inst = await insertInstance(db.dataSource, { task_state: 'resize_prep' });
      const mig = await insertMigration(db.dataSource, { instance_uuid: inst.uuid, status: 'error' });
      const done = await advanceMoveAndInstance(db.dataSource,
        { migrationId: mig.id, from: ['pre-migrating'], to: 'migrating', by: 'source' },
        { uuid: inst.uuid, expected: { task_states: ['resize_prep'] }, patch: { task_state: 'resize_migrating' } });
      expect(done).toEqual({ record: false, instance: false });
      expect((await reload(mig.id)).status).toBe('error');
      expect((await reloadInstance(inst.uuid)).task_state).toBe('resize_prep');
    });

    it('advances the record alone when the instance is no longer as expected (a delete took its task)', async () => {
      const inst = await insertInstance(db.dataSource, { task_state: 'deleting' });
      const mig = await insertMigration(db.dataSource, { instance_uuid: inst.uuid, status: 'migrating' });
      const done = await advanceMoveAndInstance(db.dataSource,
        { migrationId: mig.id, from: ['migrating'], to: 'post-migrating', by: 'source' },
        { uuid: inst.uuid, expected: { task_states: ['resize_migrating'], host: 'compute-1' }, patch: { task_state: 'resize_migrated', host: 'compute-2' } });
      expect(done).toEqual({ record: true, instance: false });
      expect((await reload(mig.id)).status).toBe('post-migrating');
      const i = await reloadInstance(inst.uuid);
      expect([i.task_state, i.host]).toEqual(['deleting', 'compute-1']);
    });

    it('lets exactly one of racing writers win both rows', async () => {
      const inst = await insertInstance(db.dataSource, { task_state: 'resize_migrating' });
      const mig = await insertMigration(db.dataSource, { instance_uuid: inst.uuid, status: 'migrating' });
      const results = await Promise.all(Array.from({ length: RACERS }, (_, n) => advanceMoveAndInstance(db.dataSource,
        { migrationId: mig.id, from: ['migrating'], to: 'post-migrating', by: 'source', patch: { last_error: `racer-${n}` } },
        { uuid: inst.uuid, expected: { task_states: ['resize_migrating'] }, patch: { task_state: 'resize_migrated', progress: n } })));
      const winners = results.flatMap((r, n) => (r.record ? [n] : []));
      expect(winners).toHaveLength(1);
      expect(results.filter((r) => r.instance)).toHaveLength(1);
      expect((await reload(mig.id)).last_error).toBe(`racer-${winners[0]}`);
      expect((await reloadInstance(inst.uuid)).progress).toBe(winners[0]);
    });

    it('refuses a step either table forbids before touching either row', async () => {
      const inst = await insertInstance(db.dataSource, { task_state: 'resize_prep' });
      const mig = await insertMigration(db.dataSource, { instance_uuid: inst.uuid, status: 'pre-migrating' });
      await expect(advanceMoveAndInstance(db.dataSource,
        { migrationId: mig.id, from: ['pre-migrating'], to: 'migrating', by: 'dest' },
        { uuid: inst.uuid, expected: { task_states: ['resize_prep'] }, patch: { task_state: 'resize_migrating' } })).rejects.toBeInstanceOf(InvalidTransition);
      await expect(advanceMoveAndInstance(db.dataSource,
        { migrationId: mig.id, from: ['pre-migrating'], to: 'migrating', by: 'source' },
        { uuid: inst.uuid, expected: { task_states: ['resize_prep'] }, patch: { task_state: 'no-such-task' as never } })).rejects.toBeInstanceOf(InvalidTransition);
      expect((await reload(mig.id)).status).toBe('pre-migrating');
      expect((await reloadInstance(inst.uuid)).task_state).toBe('resize_prep');
    });

    it('matches instance expectations with NULL among the values, as updateInstanceIf does', async () => {
      const inst = await insertInstance(db.dataSource, { task_state: null, host: null });
      expect(await updateInstanceIf(db.dataSource, inst.uuid, { task_states: ['spawning', null], host: [null, 'compute-9'], vm_states: ['active'] }, { task_state: 'spawning' })).toBe(true);
      expect(await updateInstanceIf(db.dataSource, inst.uuid, { task_states: ['spawning'], host: [] }, { task_state: null })).toBe(false);
      expect((await reloadInstance(inst.uuid)).task_state).toBe('spawning');
    });
  });
});
