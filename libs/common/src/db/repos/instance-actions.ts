// The per-server action log: the API opens an action per request, services record its events (steps).
import type { DataSource } from 'typeorm';
import { InstanceAction, InstanceActionEvent } from '../entities';
import { runStatementParts, SqlParams, type StatementPart } from '../cas/row-update';
import { queryPrepared } from '../prepared';
import { recordFinishedEvent } from './finished-events';

/** Who asked: the fields of a request context the action log keeps. */
export interface ActionRequester {
  request_id: string;
  user_id?: string | null;
  project_id?: string | null;
}

/**
 * The INSERT that opens the action a request performs on an instance, as a part of a statement; with `onlyIf`, only
 * when the earlier part of that name changed a row (e.g. the task the request had to win).
 */
export function actionOpening(params: SqlParams, ctx: ActionRequester, instanceUuid: string, action: string, onlyIf?: string): StatementPart {
  return {
    params,
    sql: `INSERT INTO instance_actions (action, instance_uuid, request_id, user_id, project_id, start_time)
            SELECT ${params.add(action)}, ${params.add(instanceUuid)}::uuid, ${params.add(ctx.request_id)}, ${params.add(ctx.user_id ?? null)},
                   ${params.add(ctx.project_id ?? null)}, ${params.add(new Date())}
            ${onlyIf ? `WHERE EXISTS (SELECT 1 FROM ${onlyIf})` : ''} RETURNING 1`,
  };
}

/** Opens the action a request performs on an instance (e.g. "create", "stop", "resize"): one prepared INSERT. */
export async function startAction(ds: DataSource, ctx: ActionRequester, instanceUuid: string, action: string): Promise<void> {
  await runStatementParts(ds, [['action', actionOpening(new SqlParams(), ctx, instanceUuid, action)]]);
}

async function findAction(ds: DataSource, requestId: string, instanceUuid: string): Promise<InstanceAction | null> {
  return ds.getRepository(InstanceAction).findOne({ where: { request_id: requestId, instance_uuid: instanceUuid }, order: { id: 'DESC' } });
}

/**
 * How long a step runs before its event is written as started. A step that ends sooner is written once, when it ends,
 * with its start and finish (one statement, not two); a longer one shows as started while it runs, as Nova's do.
 */
export const ACTION_EVENT_START_DEFER_MS = 500;

interface OpenedEvent {
  id: number;
  action_id: number;
}

/**
 * Runs fn as event `event` of the action the request opened, recording start, finish, result and, on
 * failure, the error (and marking the action "Error", as Nova does). Rethrows fn's error. When the
 * request opened no action (e.g. a periodic task), fn simply runs and nothing is written.
 *
 * The event row is written when fn ends, or as started once fn has run ACTION_EVENT_START_DEFER_MS, whichever comes
 * first: the steps of every move take a few milliseconds, and a row opened and closed around each would double
 * their writes. A process that dies during a step shorter than that leaves no row for it; the move's record and the
 * service's log still say where it stopped.
 */
export async function withActionEvent<T>(
  ds: DataSource, ctx: ActionRequester, instanceUuid: string, event: string, host: string | null, fn: () => Promise<T>,
): Promise<T> {
  const { result, closed } = await runActionEvent(ds, ctx, instanceUuid, event, host, fn);
  await closed;
  return result;
}

/** A step's result, and the write that closes its successful action event, already sent. */
export interface EventedResult<T> {
  readonly result: T;
  /**
   * Settles when the event's closing write has landed; rejects as that write does. Await it once the step's next
   * write or message is on its way (after it, or in a finally), so that the two take one round trip's time, not two.
   */
  readonly closed: Promise<void>;
}

/**
 * As withActionEvent, but returns as soon as fn has succeeded, with the event's closing write under way (`closed`).
 * Neither write waits for the other: the event is the action's record for people, not state a step depends on.
 * When fn fails, the event is closed as Error before its error is rethrown, as withActionEvent does.
 */
export async function runActionEvent<T>(
  ds: DataSource, ctx: ActionRequester, instanceUuid: string, event: string, host: string | null, fn: () => Promise<T>,
): Promise<EventedResult<T>> {
  const started = new Date();
  let opened: Promise<OpenedEvent | undefined> | undefined;
  const timer = setTimeout(() => {
    opened = openActionEvent(ds, ctx, instanceUuid, event, host, started);
    // A failure to open is seen (and rethrown) where the event is closed.
    opened.catch(() => undefined);
  }, ACTION_EVENT_START_DEFER_MS);
  // The step itself keeps the process alive while it runs; this timer alone must not.
  timer.unref();
  let result: T;
  try {
    result = await fn();
  } catch (err) {
    clearTimeout(timer);
    const e = err as Error;
    await closeActionEvent(ds, ctx, instanceUuid, event, host, started, opened, { result: 'Error', traceback: e.stack ?? e.message, details: e.message });
    throw err;
  }
  clearTimeout(timer);
  const closed = closeActionEvent(ds, ctx, instanceUuid, event, host, started, opened, { result: 'Success', traceback: null, details: null });
  // Seen by whoever awaits `closed`; not an unhandled rejection while the caller's next write is still on its way.
  closed.catch(() => undefined);
  return { result, closed };
}

async function openActionEvent(
  ds: DataSource, ctx: ActionRequester, instanceUuid: string, event: string, host: string | null, started: Date,
): Promise<OpenedEvent | undefined> {
  // Finding the request's action and opening the event is one statement, prepared: it runs at every long step.
  const [row] = await queryPrepared<OpenedEvent>(ds, 'ferry_open_action_event',
    `INSERT INTO instance_action_events (action_id, event, host, start_time)
       SELECT id, $3, $4, $5 FROM instance_actions WHERE request_id = $1 AND instance_uuid = $2 ORDER BY id DESC LIMIT 1
     RETURNING id, action_id`,
    [ctx.request_id, instanceUuid, event, host, started],
  );
  return row;
}

interface EventOutcome {
  result: 'Success' | 'Error';
  traceback: string | null;
  details: string | null;
}

/** Ends the event: updates the row opened while fn ran, or writes the whole event now; an error also marks the action. */
async function closeActionEvent(
  ds: DataSource, ctx: ActionRequester, instanceUuid: string, event: string, host: string | null, started: Date,
  opened: Promise<OpenedEvent | undefined> | undefined, outcome: EventOutcome,
): Promise<void> {
  const finished = new Date();
  if (opened) {
    const row = await opened;
    if (!row) return;
    if (outcome.result === 'Success') {
      await queryPrepared(ds, 'ferry_close_action_event', `UPDATE instance_action_events SET finish_time = $2, result = 'Success' WHERE id = $1`, [row.id, finished]);
      return;
    }
    await ds.getRepository(InstanceActionEvent).update({ id: row.id }, { finish_time: finished, ...outcome });
    await ds.getRepository(InstanceAction).update({ id: row.action_id }, { message: 'Error' });
    return;
  }
  // The whole event in one row, batched with the other steps' that end meanwhile.
  await recordFinishedEvent(ds, { request_id: ctx.request_id, instance_uuid: instanceUuid, event, host, start_time: started, finish_time: finished, ...outcome });
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
