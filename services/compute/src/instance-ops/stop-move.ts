// Stopping an instance's move on this host because the instance is being deleted: end the record, cut the steps
// running here short, and wait until they have let go, so what is destroyed next is not written again by them.
import { advanceMigration, getInstance, getMigration, latestMigrationOf, type Instance, type Migration } from '@ferry/common/db';
import { MIGRATION_TYPES, MOVE_ENDED_BY_DELETE_MESSAGE, statusEndingMoveOnDelete, TASK_STATES } from '@ferry/common/domain';
import type { RequestContext } from '@ferry/common/rpc';
import type { ComputeContext } from '../compute-context';

/** How long a terminate waits for a step of the move to notice it was stopped before destroying anyway. */
const STEP_SETTLE_MS = 60_000;

/** The user asked for the instance to go: every copy of it, on every host, is garbage from here on. */
export function isBeingDeleted(instance: Pick<Instance, 'deleted_at' | 'task_state'> | undefined): boolean {
  return !instance || Boolean(instance.deleted_at) || instance.task_state === TASK_STATES.DELETING;
}

/** Reads the instance again: a step checks this before and after it creates anything for the move. */
export async function instanceBeingDeleted(c: ComputeContext, uuid: string): Promise<boolean> {
  return isBeingDeleted(await getInstance(c.ds, uuid));
}

function roleOf(c: ComputeContext, m: Migration): 'source' | 'dest' | undefined {
  if (m.source_compute === c.host) return 'source';
  if (m.dest_compute === c.host) return 'dest';
  return undefined;
}

/**
 * Ends the record with the status this host's role may write (none: it is over, left to the confirm, or the other
 * side's to end). Retries when a step moved the record on between the read and the write.
 */
export async function endMoveOfDeletedInstance(c: ComputeContext, migrationId: number): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const m = await getMigration(c.ds, migrationId);
    const role = m && roleOf(c, m);
    if (!m || !role) return;
    const to = statusEndingMoveOnDelete(m.migration_type, m.status, role);
    if (!to) return;
    if (await advanceMigration(c.ds, m.id, [m.status], to, role, { last_error: MOVE_ENDED_BY_DELETE_MESSAGE })) {
      c.log.info({ migration_id: m.id, instance_uuid: m.instance_uuid, from: m.status, to }, 'move ended: its instance is being deleted');
      return;
    }
  }
}

/** The instance's most recent move of any type, finished or not. */
export function latestMoveOf(c: ComputeContext, uuid: string): Promise<Migration | undefined> {
  return latestMigrationOf(c.ds, uuid, MIGRATION_TYPES);
}

/** Whether this host is the source or the destination of the move. */
export function takesPartIn(c: ComputeContext, m: Migration | undefined): boolean {
  return m !== undefined && roleOf(c, m) !== undefined;
}

/**
 * Ends the instance's latest move where this host takes part in it, stops its local steps (disk copy, live job, wait
 * for a slot) and waits until none runs here.
 */
export async function stopMoveHere(c: ComputeContext, latest: Migration | undefined): Promise<void> {
  if (!latest || !roleOf(c, latest)) return;
  const uuid = latest.instance_uuid;
  // The record first: every step's next compare-and-set then fails, whatever it is doing now.
  await endMoveOfDeletedInstance(c, latest.id);
  c.coldCopies.get(latest.id)?.abort();
  c.live.jobs.get(latest.id)?.abort();
  c.live.slotWaits.get(latest.id)?.abort();
  const deadline = Date.now() + STEP_SETTLE_MS;
  while (c.activeMoves.has(latest.id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  if (c.activeMoves.has(latest.id)) c.log.warn({ migration_id: latest.id, instance_uuid: uuid }, 'a step of the move still runs here; destroying anyway');
  // A step may have moved the record on before it noticed; end whatever it left.
  await endMoveOfDeletedInstance(c, latest.id);
}

/** The host on the other side of the move from this one, if the move reached one. */
export function otherHostOf(c: ComputeContext, m: Migration | undefined): string | undefined {
  if (!m) return undefined;
  const other = m.source_compute === c.host ? m.dest_compute : m.source_compute;
  return other && other !== c.host ? other : undefined;
}

/** Asks the other host of a move to drop what it holds of a deleted instance; its terminate is idempotent. */
export async function nudgeOtherHost(c: ComputeContext, ctx: RequestContext, m: Migration | undefined, uuid: string): Promise<void> {
  const other = otherHostOf(c, m);
  if (!other) return;
  await c.computeRpc.terminateInstance(ctx, other, uuid).catch((err: unknown) =>
    c.log.error({ instance_uuid: uuid, host: other, err: (err as Error).message }, 'cannot ask the other host of the move to drop its copy'));
}
