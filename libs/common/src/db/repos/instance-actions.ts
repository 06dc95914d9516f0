// The per-server action log: the API opens an action per request, services record its events (steps).
import type { DataSource } from 'typeorm';
import { InstanceAction, InstanceActionEvent } from '../entities';
import { queryPrepared } from '../prepared';

/** Who asked: the fields of a request context the action log keeps. */
export interface ActionRequester {
  request_id: string;
  user_id?: string | null;
  project_id?: string | null;
}

/** Opens the action a request performs on an instance (e.g. "create", "stop", "resize"). */
export async function startAction(ds: DataSource, ctx: ActionRequester, instanceUuid: string, action: string): Promise<InstanceAction> {
  // One INSERT … RETURNING: this runs on every accepted request, and save() would add a transaction around it.
  const [row] = await ds
    .createQueryBuilder()
    .insert()
    .into(InstanceAction)
    .values({
      action, instance_uuid: instanceUuid, request_id: ctx.request_id,
      user_id: ctx.user_id ?? null, project_id: ctx.project_id ?? null, start_time: new Date(), finish_time: null, message: null,
    })
    .returning('*')
    .execute()
    .then((r) => r.raw as Record<string, unknown>[]);
  return ds.getRepository(InstanceAction).create(row as Partial<InstanceAction>);
}

async function findAction(ds: DataSource, requestId: string, instanceUuid: string): Promise<InstanceAction | null> {
  return ds.getRepository(InstanceAction).findOne({ where: { request_id: requestId, instance_uuid: instanceUuid }, order: { id: 'DESC' } });
}

/**
 * Runs fn as event `event` of the action the request opened, recording start, finish, result and, on
 * failure, the error (and marking the action "Error", as Nova does). Rethrows fn's error. When the
 * request opened no action (e.g. a periodic task), fn simply runs.
 */
export async function withActionEvent<T>(
  ds: DataSource, ctx: ActionRequester, instanceUuid: string, event: string, host: string | null, fn: () => Promise<T>,
): Promise<T> {
  // Finding the request's action and opening the event is one statement: this runs at every step of every move, so
  // it and the success that closes it are prepared statements (parsed and planned once per connection).
  const opened = await queryPrepared<{ id: number; action_id: number }>(ds, 'ferry_open_action_event',
    `INSERT INTO instance_action_events (action_id, event, host, start_time)
       SELECT id, $3, $4, $5 FROM instance_actions WHERE request_id = $1 AND instance_uuid = $2 ORDER BY id DESC LIMIT 1
     RETURNING id, action_id`,
    [ctx.request_id, instanceUuid, event, host, new Date()],
  );
  const row = opened[0];
  if (!row) return fn();
  const events = ds.getRepository(InstanceActionEvent);
  try {
    const result = await fn();
    await queryPrepared(ds, 'ferry_close_action_event', `UPDATE instance_action_events SET finish_time = $2, result = 'Success' WHERE id = $1`, [row.id, new Date()]);
    return result;
  } catch (err) {
    const e = err as Error;
    await events.update({ id: row.id }, { finish_time: new Date(), result: 'Error', traceback: e.stack ?? e.message, details: e.message });
    await ds.getRepository(InstanceAction).update({ id: row.action_id }, { message: 'Error' });
    throw err;
  }
}

/** Records a finished event of the request's action with `details` (what a step found and did), as one statement. */
export async function noteActionEvent(
  ds: DataSource, ctx: ActionRequester, instanceUuid: string, event: string, host: string | null, result: 'Success' | 'Error', details: string,
): Promise<void> {
  const now = new Date();
  await ds.query(
    `INSERT INTO instance_action_events (action_id, event, host, start_time, finish_time, result, details)
       SELECT id, $3, $4, $5, $5, $6, $7 FROM instance_actions WHERE request_id = $1 AND instance_uuid = $2 ORDER BY id DESC LIMIT 1`,
    [ctx.request_id, instanceUuid, event, host, now, result, details],
  );
}

/** Marks the action finished (the last step of a request's work is done). */
export async function finishAction(ds: DataSource, ctx: ActionRequester, instanceUuid: string): Promise<void> {
  await ds.getRepository(InstanceAction).update({ request_id: ctx.request_id, instance_uuid: instanceUuid }, { finish_time: new Date() });
}

/** Ends the action a request opened as failed (its work never started: a refused or lost message). */
export async function failAction(ds: DataSource, ctx: Pick<ActionRequester, 'request_id'>, instanceUuid: string): Promise<void> {
  await ds.getRepository(InstanceAction).update({ request_id: ctx.request_id, instance_uuid: instanceUuid }, { message: 'Error', finish_time: new Date() });
}

export async function listActions(ds: DataSource, instanceUuid: string): Promise<InstanceAction[]> {
  return ds.getRepository(InstanceAction).find({ where: { instance_uuid: instanceUuid }, order: { created_at: 'DESC', id: 'DESC' } });
}

export async function getActionWithEvents(
  ds: DataSource, instanceUuid: string, requestId: string,
): Promise<{ action: InstanceAction; events: InstanceActionEvent[] } | undefined> {
  const action = await findAction(ds, requestId, instanceUuid);
  if (!action) return undefined;
  const events = await ds.getRepository(InstanceActionEvent).find({ where: { action_id: action.id }, order: { start_time: 'ASC', id: 'ASC' } });
  return { action, events };
}
