// Resuming cold moves from the database after this compute restarted (and periodically, for lost messages): every
// unfinished record this host takes part in is moved on by the step the domain's recovery table names for its status
// and this host's role.
import { latestMigrationOf, listInstancesOnHost, openMigrationsOnHost, updateInstanceIf, type Migration } from '@ferry/common/db';
import { recoveryFor, type ColdResumeStep } from '@ferry/common/domain';
import { newRequestContext, type RequestContext } from '@ferry/common/rpc';
import type { ComputeContext } from '../compute-context';
import { isBeingDeleted } from '../instance-ops/stop-move';
import { terminateInstance } from '../instance-ops/terminate';
import { confirmResize } from './confirm-resize';
import { finishResize } from './finish-resize';
import { loadMove } from './move-record';
import { castFinish, resizeInstance } from './resize-instance';
import { finishRevertResize, revertResize } from './revert-resize';

const COLD_TYPES = ['migration', 'resize'] as const;

type Role = 'source' | 'dest';
type Step = (c: ComputeContext, ctx: RequestContext, m: Migration) => Promise<void>;

/** The handler of each step the recovery table may name for a cold move. */
const STEPS: Readonly<Record<ColdResumeStep, Step>> = {
  'resize-instance': (c, ctx, m) => resizeInstance(c, ctx, m.id),
  'hand-over': (c, ctx, m) => handOverAgain(c, ctx, m),
  'confirm-resize': (c, ctx, m) => confirmResize(c, ctx, m.id),
  'finish-revert-resize': (c, ctx, m) => finishRevertResize(c, ctx, m.id),
  'cast-resize-instance': (c, ctx, m) => c.computeRpc.resizeInstance(ctx, m.source_compute!, m.id),
  'finish-resize': (c, ctx, m) => finishResize(c, ctx, m.id),
  'revert-resize': (c, ctx, m) => revertResize(c, ctx, m.id),
};

/** The step `role` runs for the record, or undefined when the table has it wait (cold moves only resume). */
function stepFor(m: Migration, role: Role): { step: Step; evenWhenDeleting: boolean } | undefined {
  const { action, whenDeleting } = recoveryFor(m.migration_type, m.status, role);
  if (action.kind !== 'resume') return undefined;
  return { step: STEPS[action.step as ColdResumeStep], evenWhenDeleting: whenDeleting === 'proceed' };
}

export interface RecoveryOptions {
  /** Only records untouched for this long (a periodic pass must not race a step another host is running). */
  staleSeconds?: number;
}

export async function recoverColdMoves(c: ComputeContext, opts: RecoveryOptions = {}): Promise<number> {
  const cutoff = opts.staleSeconds === undefined ? Infinity : Date.now() - opts.staleSeconds * 1000;
  let resumed = 0;
  for (const m of await openMigrationsOnHost(c.ds, c.host, COLD_TYPES)) {
    if (c.activeMoves.has(m.id) || m.updated_at.getTime() > cutoff) continue;
    const roles: Role[] = [...(m.source_compute === c.host ? ['source' as const] : []), ...(m.dest_compute === c.host ? ['dest' as const] : [])];
    for (const role of roles) {
      const found = stepFor(m, role);
      if (!found) continue;
      const { step, evenWhenDeleting } = found;
      const move = await loadMove(c.ds, m.id);
      if (!move) continue;
      // A step that ends its own record needing no instance (a confirm under way) still runs; anything else of a deleted instance is dropped.
      if (isBeingDeleted(move.instance) && !evenWhenDeleting) {
        // A delete whose messages were lost, or that this host missed while down: finish its part here.
        await terminateInstance(c, newRequestContext(), m.instance_uuid).catch((err: unknown) =>
          c.log.error({ migration_id: m.id, err: (err as Error).message }, 'cannot drop the move of a deleted instance; next pass retries'));
        resumed++;
        break;
      }
      c.log.info({ migration_id: m.id, status: m.status, role, instance_uuid: m.instance_uuid }, 'resuming an unfinished move');
      await step(c, move.data.request_context, m).catch((err: unknown) =>
        c.log.error({ migration_id: m.id, status: m.status, err: (err as Error).message }, 'cannot resume the move; next pass retries'));
      resumed++;
    }
  }
  resumed += await resumeHandedBack(c);
  return resumed;
}

/** Instances the destination gave back to this host (revert, or a failed finish) whose source-side step never ran. */
async function resumeHandedBack(c: ComputeContext): Promise<number> {
  let resumed = 0;
  for (const instance of await listInstancesOnHost(c.ds, c.host)) {
    if (instance.task_state !== 'resize_reverting') continue;
    const m = await latestMigrationOf(c.ds, instance.uuid, COLD_TYPES);
    if (!m || m.source_compute !== c.host || c.activeMoves.has(m.id) || m.status === 'reverting') continue;
    const move = await loadMove(c.ds, m.id);
    await finishRevertResize(c, move!.data.request_context, m.id);
    resumed++;
  }
  return resumed;
}

/** post-migrating on the source: the record moved but the instance or the finish_resize cast may not have. */
async function handOverAgain(c: ComputeContext, ctx: RequestContext, m: Migration): Promise<void> {
  await updateInstanceIf(c.ds, m.instance_uuid, { task_states: ['resize_migrating'], host: c.host }, {
    task_state: 'resize_migrated', host: m.dest_compute, node: m.dest_node ?? m.dest_compute, progress: 100,
  });
  await castFinish(c, ctx, m.id, m.dest_compute!);
}
