// Finished action events, written in batches: while one batch's INSERT is in flight, the events that end meanwhile
// queue, and the next statement writes them all (a group commit). Each caller is told when its own row is committed
// (a step awaits it together with its next write: runActionEvent); an idle database sees one statement per event, a
// busy one a statement per batch.
import type { DataSource } from 'typeorm';
import { queryPrepared } from '../prepared';

/** One step's event, as it ended. */
export interface FinishedEvent {
  request_id: string;
  instance_uuid: string;
  event: string;
  host: string | null;
  start_time: Date;
  finish_time: Date;
  result: 'Success' | 'Error';
  traceback: string | null;
  details: string | null;
}

/** The most rows one statement writes. */
const MAX_BATCH = 200;

interface Queued {
  event: FinishedEvent;
  done: (err?: Error) => void;
}

class FinishedEventWriter {
  private queue: Queued[] = [];
  private flushing = false;

  constructor(private readonly ds: DataSource) {}

  write(event: FinishedEvent): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ event, done: (err) => (err ? reject(err) : resolve()) });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        try {
          await insertFinishedEvents(this.ds, batch.map((q) => q.event));
          for (const q of batch) q.done();
        } catch (err) {
          // One row the database refuses must not fail the others: each is tried alone.
          if (batch.length === 1) batch[0]!.done(err as Error);
          else for (const q of batch) await insertFinishedEvents(this.ds, [q.event]).then(() => q.done(), (e: unknown) => q.done(e as Error));
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}

const writers = new WeakMap<DataSource, FinishedEventWriter>();

/**
 * Writes the event under the action its request opened (none: nothing is written) and, for an error, marks that
 * action "Error"; resolves once committed.
 */
export function recordFinishedEvent(ds: DataSource, event: FinishedEvent): Promise<void> {
  let writer = writers.get(ds);
  if (!writer) {
    writer = new FinishedEventWriter(ds);
    writers.set(ds, writer);
  }
  return writer.write(event);
}

async function insertFinishedEvents(ds: DataSource, events: readonly FinishedEvent[]): Promise<void> {
  await queryPrepared(ds, 'ferry_record_finished_events',
    `WITH input AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(
         request_id text, instance_uuid uuid, event text, host text, start_time timestamptz, finish_time timestamptz,
         result text, traceback text, details text)
     ), written AS (
       INSERT INTO instance_action_events (action_id, event, host, start_time, finish_time, result, traceback, details)
         SELECT a.id, x.event, x.host, x.start_time, x.finish_time, x.result, x.traceback, x.details
           FROM input x
           CROSS JOIN LATERAL (SELECT id FROM instance_actions
                                WHERE request_id = x.request_id AND instance_uuid = x.instance_uuid ORDER BY id DESC LIMIT 1) a
       RETURNING action_id, result
     )
     UPDATE instance_actions SET message = 'Error' WHERE id IN (SELECT action_id FROM written WHERE result = 'Error')`,
    [JSON.stringify(events)],
  );
}
