// The action log's events (os-instance-actions): a quick step is one row written when it ends, a long one shows as
// started while it runs; both end with their result, and a failure marks the action, as Nova's do.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ACTION_EVENT_START_DEFER_MS, getActionWithEvents, migrate, openDatabase, runActionEvent, startAction, withActionEvent, type FerryDatabase,
} from '@ferry/common/db';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../support/db';
import { insertInstance } from './fixtures';

describe('instance action events on Postgres', () => {
  let tdb: TestDatabase;
  let db: FerryDatabase;

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = await openDatabase({ url: tdb.url, stateDir: mkdtempSync(join(tmpdir(), 'ferry-events-')), poolSize: 4 });
    await migrate(db.dataSource);
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  async function opened(action = 'migrate') {
    const inst = await insertInstance(db.dataSource);
    const ctx = { request_id: `req-${inst.uuid}`, user_id: 'u1', project_id: 'p1' };
    await startAction(db.dataSource, ctx, inst.uuid, action);
    const events = async () => (await getActionWithEvents(db.dataSource, inst.uuid, ctx.request_id))!;
    return { inst, ctx, events };
  }

  it('writes a quick step once, when it ends, with its start and finish', async () => {
    const { inst, ctx, events } = await opened();
    let during: unknown[] = [];
    const before = Date.now();
    const out = await withActionEvent(db.dataSource, ctx, inst.uuid, 'compute_prep_resize', 'compute-2', async () => {
      during = (await events()).events;
      return 42;
    });
    expect(out).toBe(42);
    expect(during).toEqual([]);
    const { action, events: rows } = await events();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ event: 'compute_prep_resize', host: 'compute-2', result: 'Success', traceback: null });
    expect(rows[0].start_time.getTime()).toBeGreaterThanOrEqual(before - 1);
    expect(rows[0].finish_time!.getTime()).toBeGreaterThanOrEqual(rows[0].start_time.getTime());
    expect(action.message).toBeNull();
  });

  it('shows a long step as started while it runs, then closes that row', async () => {
    const { inst, ctx, events } = await opened();
    let during: { id: number; finish_time: Date | null; result: string | null }[] = [];
    await withActionEvent(db.dataSource, ctx, inst.uuid, 'compute_resize_instance', 'compute-1', async () => {
      await sleep(ACTION_EVENT_START_DEFER_MS + 300);
      during = (await events()).events;
    });
    expect(during).toEqual([expect.objectContaining({ event: 'compute_resize_instance', finish_time: null, result: null })]);
    const rows = (await events()).events;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: during[0]!.id, result: 'Success', finish_time: expect.any(Date) });
  });

  it.each([['quick', 0], ['long', ACTION_EVENT_START_DEFER_MS + 200]])('records a %s step that fails with its error and marks the action', async (_kind, ms) => {
    const { inst, ctx, events } = await opened();
    await expect(withActionEvent(db.dataSource, ctx, inst.uuid, 'compute_finish_resize', 'compute-2', async () => {
      await sleep(ms);
      throw new Error('guest would not start');
    })).rejects.toThrow('guest would not start');
    const { action, events: rows } = await events();
    expect(rows).toEqual([expect.objectContaining({ event: 'compute_finish_resize', result: 'Error', details: 'guest would not start', finish_time: expect.any(Date) })]);
    expect(rows[0].traceback).toContain('guest would not start');
    expect(action.message).toBe('Error');
  });

  it('writes nothing for a step whose request opened no action, and still runs it', async () => {
    const inst = await insertInstance(db.dataSource);
    const ctx = { request_id: 'req-periodic', user_id: null, project_id: null };
    expect(await withActionEvent(db.dataSource, ctx, inst.uuid, 'compute_power_sync', 'compute-1', async () => 'ran')).toBe('ran');
    const [{ mine }] = await db.dataSource.query(
      'SELECT count(*)::int AS mine FROM instance_action_events e JOIN instance_actions a ON a.id = e.action_id WHERE a.instance_uuid = $1', [inst.uuid]);
    expect(mine).toBe(0);
  });

  it('writes the events of steps that end together in few statements, each step waiting for its own row', async () => {
    const steps = await Promise.all(Array.from({ length: 40 }, () => opened()));
    const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
    const original = proto.query;
    let inserts = 0;
    proto.query = function (this: unknown, ...args: unknown[]) {
      const q = args[0] as string | { text?: string };
      if (/INSERT INTO instance_action_events/.test(typeof q === 'string' ? q : q.text ?? '')) inserts++;
      return original.apply(this, args);
    };
    let committedBeforeReturn = 0;
    try {
      await Promise.all(steps.map(async ({ inst, ctx, events }, n) => {
        await withActionEvent(db.dataSource, ctx, inst.uuid, 'compute_prep_resize', `compute-${n}`, async () => undefined);
        if ((await events()).events.length === 1) committedBeforeReturn++;
      }));
    } finally {
      proto.query = original;
    }
    expect(committedBeforeReturn).toBe(steps.length);
    expect(inserts).toBeGreaterThan(0);
    expect(inserts).toBeLessThan(steps.length / 2);
    for (const [n, { events }] of steps.entries()) {
      expect((await events()).events).toEqual([expect.objectContaining({ event: 'compute_prep_resize', host: `compute-${n}`, result: 'Success' })]);
    }
  });

  it('fails only the step whose event the database refuses, not the others written with it', async () => {
    const good = await Promise.all(Array.from({ length: 5 }, () => opened()));
    const bad = { request_id: 'req-bad', user_id: null, project_id: null };
    const results = await Promise.allSettled([
      ...good.map(({ inst, ctx }) => withActionEvent(db.dataSource, ctx, inst.uuid, 'compute_finish_resize', 'compute-2', async () => 'ok')),
      withActionEvent(db.dataSource, bad, 'not-a-uuid', 'compute_finish_resize', 'compute-2', async () => 'ok'),
    ]);
    expect(results.slice(0, 5).map((r) => r.status)).toEqual(Array(5).fill('fulfilled'));
    expect(results[5]!.status).toBe('rejected');
    for (const { events } of good) expect((await events()).events).toHaveLength(1);
  });

  it('hands back the step\'s result while its closing write is on its way; `closed` settles when the row is there', async () => {
    const { inst, ctx, events } = await opened();
    // Another session holds a lock that blocks every INSERT of an event until it commits.
    const blocker = new pg.Client({ connectionString: tdb.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE instance_action_events IN SHARE ROW EXCLUSIVE MODE');
      const { result, closed } = await runActionEvent(db.dataSource, ctx, inst.uuid, 'compute_prep_resize', 'compute-2', async () => 'prepared');
      expect(result).toBe('prepared');
      // The step goes on (its next write, its cast) while the event's row cannot be written yet.
      expect(await Promise.race([closed.then(() => 'closed'), sleep(300).then(() => 'still writing')])).toBe('still writing');
      expect((await events()).events).toEqual([]);
      await blocker.query('COMMIT');
      await closed;
      expect((await events()).events).toEqual([expect.objectContaining({ event: 'compute_prep_resize', host: 'compute-2', result: 'Success' })]);
    } finally {
      await blocker.end();
    }
  });

  it('rejects `closed`, not the step, when the closing write is refused; a failed step still closes its event first', async () => {
    const bad = { request_id: 'req-bad-close', user_id: null, project_id: null };
    const { result, closed } = await runActionEvent(db.dataSource, bad, 'not-a-uuid', 'compute_prep_resize', 'compute-2', async () => 'prepared');
    expect(result).toBe('prepared');
    await expect(closed).rejects.toThrow();

    const { inst, ctx, events } = await opened();
    const failure = new Error('no room for the disk');
    await expect(runActionEvent(db.dataSource, ctx, inst.uuid, 'compute_prep_resize', 'compute-2', () => Promise.reject(failure))).rejects.toBe(failure);
    const { action, events: rows } = await events();
    expect(rows).toEqual([expect.objectContaining({ event: 'compute_prep_resize', result: 'Error', details: 'no room for the disk' })]);
    expect(action.message).toBe('Error');
  });
});
