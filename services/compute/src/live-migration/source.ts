// live_migration on the source, which drives libvirt's five phases: Begin here, Prepare on the destination, Perform
// here (monitored), Finish on the destination, Confirm here. A failure before Finish leaves the guest running here;
// once Finish was asked for, this copy resumes only after the destination says it does not run the guest
// (settle-after-perform): the guest is never running on both hosts.
import { advanceMigration, completeLiveMigration, getMigration, openMigrationOf, releaseClaim, updateInstanceIf, withActionEvent } from '@ferry/common/db';
import { POWER_STATES, policyValues, type MigrationPolicy } from '@ferry/common/domain';
import type { RequestContext } from '@ferry/common/rpc';
import type { ComputeContext } from '../compute-context';
import type { LiveMigrationJobStats } from '../drivers';
import type { MigrationCookie } from '../client/wire-types';
import { instanceNotification } from '../notifications';
import { arrivesPaused, liveOptions, loadLiveMove, type LiveMove } from './live-record';
import { LiveJobHandle } from './job-handle';
import { monitorJob, progressOf } from './monitor';
import { movePolicy } from '../migration-policy';
import { nowIso, withPhase } from '../phase-timings';
import { settleAfterPerform } from './settle-after-perform';
import { crashPoint } from '@ferry/common/chaos';

export const LIVE_MIGRATION_EVENT = 'compute_live_migration';
const MIB = 1024 * 1024;

/** The job ended because someone asked it to (abort), not because it failed. */
function isCancellation(err: unknown): boolean {
  return (err as { code?: string }).code === 'LiveMigrationCancelled';
}

/** Runs the migration beside the message consumer (the phases outlast any message), tracked so a stop waits for it. */
export function startLiveMigration(c: ComputeContext, ctx: RequestContext, migrationId: number): void {
  const run = liveMigration(c, ctx, migrationId).catch((err: unknown) =>
    c.log.error({ migration_id: migrationId, err: (err as Error).message }, 'live migration failed unexpectedly'));
  c.live.runs.add(run);
  void run.finally(() => c.live.runs.delete(run));
}

export async function liveMigration(c: ComputeContext, ctx: RequestContext, migrationId: number): Promise<void> {
  if (c.activeMoves.has(migrationId)) return;
  c.activeMoves.add(migrationId);
  try {
    const first = await loadLiveMove(c.ds, migrationId);
    if (!first || first.migration.source_compute !== c.host || first.migration.status !== 'queued') {
      // Cancelled before this message arrived: the instance and the destination's claim are still the move's.
      if (first?.migration.source_compute === c.host && first.migration.status === 'cancelled') await endBeforeStart(c, first);
      else c.log.info({ migration_id: migrationId, status: first?.migration.status }, 'no queued live migration from this host; ignored');
      return;
    }
    if (!(await waitForSlot(c, migrationId))) {
      if (c.stopping.aborted) {
        c.log.info({ migration_id: migrationId }, 'stopping while the live migration waited for a slot; it starts again at the next start');
        return;
      }
      // Aborted while queued: leave at once rather than when a slot frees.
      const move = await loadLiveMove(c.ds, migrationId);
      if (move) await endBeforeStart(c, move);
      return;
    }
    try {
      // The record as read before the wait: while it stays `queued` nothing but its status changes (an abort, a
      // delete, the API's cancel), and the instance holds its task, so the compare-and-set below is the only check
      // the wait needs. A record that moved on is read again for what to undo.
      const move = first;
      if (!move.instance) {
        await endBeforeStart(c, move);
        return;
      }
      // The policy is fixed as the move starts, and recorded with where each value came from.
      const policy = movePolicy(c, migrationId, move.instance, move.imageProperties);
      const timings = withPhase(move.migration.phase_timings, 'preparing', { started_at: nowIso() });
      if (!(await advanceMigration(c.ds, migrationId, ['queued'], 'preparing', 'source', { phase_timings: timings, migration_policy: policy }))) {
        await endBeforeStart(c, (await loadLiveMove(c.ds, migrationId)) ?? move);
        return;
      }
      // Later writes build on these timings: keep them, or completing would drop when preparing started.
      move.migration.phase_timings = timings;
      move.migration.migration_policy = policy;
      await withActionEvent(c.ds, ctx, move.instance.uuid, LIVE_MIGRATION_EVENT, c.host, () => runPhases(c, ctx, move, policyValues(policy)));
    } finally {
      c.live.slots.release();
    }
  } finally {
    c.activeMoves.delete(migrationId);
  }
}

/** Waits in `queued` for one of this host's slots; false if the migration was aborted meanwhile or the service stops. */
async function waitForSlot(c: ComputeContext, migrationId: number): Promise<boolean> {
  const leave = new AbortController();
  c.live.slotWaits.set(migrationId, leave);
  try {
    return await c.live.slots.acquire(AbortSignal.any([leave.signal, c.stopping]));
  } finally {
    c.live.slotWaits.delete(migrationId);
  }
}

/** Cancelled while queued (or gone): free the destination and give the instance back its freedom. */
async function endBeforeStart(c: ComputeContext, move: LiveMove): Promise<void> {
  const { migration } = move;
  // A later move of the same instance owns its task and claims now; this one has nothing left to undo.
  if (await openMigrationOf(c.ds, migration.instance_uuid)) return;
  if (migration.dest_compute) await releaseClaim(c.ds, migration.instance_uuid, migration.dest_compute);
  await updateInstanceIf(c.ds, migration.instance_uuid, { task_states: ['migrating'], host: c.host }, { task_state: null });
  c.log.info({ migration_id: migration.id, status: migration.status }, 'live migration ended before it started');
}

async function runPhases(c: ComputeContext, ctx: RequestContext, move: LiveMove, policy: MigrationPolicy): Promise<void> {
  const { migration } = move;
  const instance = move.instance!;
  const dest = migration.dest_compute!;
  const ramBytes = instance.flavor.memory_mb * MIB;
  let lastStats: LiveMigrationJobStats | undefined;
  let finishCookie: MigrationCookie;
  try {
    const opts = liveOptions(move, policy);
    const begun = await c.driver.liveMigrationBegin(instance.uuid, opts);
    const prepared = await c.computeRpc.preLiveMigration(ctx, dest, migration.id, begun);
    crashPoint('live.source.after_prepare', c.host);
    // From here abort and force-complete reach the handle: before the record says `running`, so none is lost while
    // Perform creates the job. A stop that came earlier aborts it too.
    const handle = new LiveJobHandle();
    c.live.jobs.set(migration.id, handle);
    if (c.stopping.aborted) handle.abort();
    try {
      const now = nowIso();
      const timings = withPhase(withPhase(migration.phase_timings, 'preparing', { finished_at: now }), 'perform', { started_at: now });
      if (!(await advanceMigration(c.ds, migration.id, ['preparing'], 'running', 'source', { phase_timings: timings }))) throw cancelled('aborted while preparing');
      migration.phase_timings = timings;
      const job = await c.driver.liveMigrationPerform(instance.uuid, prepared, opts);
      handle.attach(job);
      crashPoint('live.source.mid_perform', c.host);
      try {
        finishCookie = await monitorJob(c, job, {
          migrationId: migration.id, ramBytes, policy, onSteerRequest: (request) => (request === 'abort' ? handle.abort() : handle.forceComplete()),
        });
      } finally {
        lastStats = job.stats();
      }
    } finally {
      c.live.jobs.delete(migration.id);
    }
  } catch (err) {
    if (c.stopping.aborted) {
      c.log.warn({ migration_id: migration.id }, 'live migration interrupted by shutdown; recovery rolls it back at start');
      return;
    }
    await rollBack(c, ctx, move, err as Error, isCancellation(err) ? 'cancelled' : 'failed', lastStats);
    return;
  }
  await complete(c, ctx, move, finishCookie, lastStats);
}

function cancelled(message: string): Error {
  return Object.assign(new Error(message), { code: 'LiveMigrationCancelled' });
}

function perform(stats: LiveMigrationJobStats | undefined): Record<string, unknown> {
  if (!stats) return {};
  return { iterations: stats.iterations, expected_downtime_ms: stats.expected_downtime_ms, max_downtime_ms: stats.max_downtime_ms, postcopy: stats.postcopy, paused: stats.paused, elapsed_ms: stats.elapsed_ms };
}

/** Finish on the destination, then Confirm here; a Finish that fails asks the destination what it runs before anything else. */
async function complete(c: ComputeContext, ctx: RequestContext, move: LiveMove, cookie: MigrationCookie, stats?: LiveMigrationJobStats): Promise<void> {
  const { migration } = move;
  const now = nowIso();
  const timings = withPhase(withPhase(migration.phase_timings, 'perform', { finished_at: now, ...perform(stats) }), 'finish_confirm', { started_at: now });
  const progress = stats ? progressOf(stats) : {};
  if (!(await advanceMigration(c.ds, migration.id, ['running'], 'post-migrating', 'source', { phase_timings: timings, ...progress }))
    && (await getMigration(c.ds, migration.id))?.status !== 'post-migrating') {
    // Cancelled as the job completed (the instance is being deleted): the guest is still whole here, so no Finish.
    await rollBack(c, ctx, move, cancelled('cancelled as the transfer completed'), 'cancelled', stats);
    return;
  }
  migration.phase_timings = timings;
  crashPoint('live.source.after_perform', c.host);
  let confirmCookie: MigrationCookie;
  try {
    confirmCookie = await c.computeRpc.postLiveMigrationAtDestination(ctx, migration.dest_compute!, migration.id, cookie);
  } catch (err) {
    // A lost or late reply looks the same as a refusal: the destination may already run the guest.
    await settleAfterPerform(c, ctx, move, err as Error);
    return;
  }
  crashPoint('live.source.after_finish', c.host);
  await confirmHere(c, move, confirmCookie, stats);
}

/** The destination runs the guest and the database names it: Confirm destroys this copy, then the move completes. */
export async function confirmHere(c: ComputeContext, move: LiveMove, confirmCookie: MigrationCookie, stats?: LiveMigrationJobStats): Promise<void> {
  const { migration } = move;
  const instance = move.instance!;
  await instanceNotification(c, 'instance.live_migration_post', instance, async () => {
    await confirmUntilDone(c, instance.uuid, confirmCookie, { success: true, paused: arrivesPaused(move.data) });
    // The guest's pause as the hypervisors saw it (source stopped → destination resumed), when they report it.
    const paused = typeof confirmCookie.downtime_ms === 'number' ? { guest_paused_ms: confirmCookie.downtime_ms } : {};
    // This host's claim freed, the record completed, the instance's task cleared: one statement.
    await completeLiveMigration(c.ds, {
      migrationId: migration.id, instanceUuid: instance.uuid, source: c.host, dest: migration.dest_compute!,
      phaseTimings: withPhase(migration.phase_timings, 'finish_confirm', { finished_at: nowIso(), ...paused }),
    });
  });
  c.log.info({ migration_id: migration.id, instance_uuid: instance.uuid, dest: migration.dest_compute, ...perform(stats) }, 'live migration completed');
}

/** Confirm must happen (the source copy is paused, the destination's runs): retried until it does or the service stops. */
async function confirmUntilDone(c: ComputeContext, uuid: string, cookie: MigrationCookie, opts: { success: boolean; paused: boolean }): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await c.driver.liveMigrationConfirm(uuid, cookie, opts);
      return;
    } catch (err) {
      if (c.stopping.aborted) throw err;
      c.log.error({ instance_uuid: uuid, attempt, err: (err as Error).message }, 'live migration confirm failed; retrying');
      await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 5000)));
    }
  }
}

/**
 * The destination drops its incoming VM and claim; the guest resumes here; the record says why. `destinationDropped`:
 * the caller already had the destination drop it (and must not resume here otherwise).
 */
export async function rollBack(
  c: ComputeContext, ctx: RequestContext, move: LiveMove, err: Error, status: 'failed' | 'cancelled', stats?: LiveMigrationJobStats,
  destinationDropped = false,
): Promise<void> {
  const { migration } = move;
  const instance = move.instance!;
  const paused = arrivesPaused(move.data);
  c.log.warn({ migration_id: migration.id, instance_uuid: instance.uuid, status, err: err.message }, 'live migration rolled back; the guest stays on the source');
  await instanceNotification(c, 'instance.live_migration_rollback', instance, async () => {
    if (!destinationDropped) {
      try {
        await c.computeRpc.rollbackLiveMigrationAtDestination(ctx, migration.dest_compute!, migration.id);
      } catch (destErr) {
        c.log.error({ migration_id: migration.id, err: (destErr as Error).message }, 'destination could not drop its incoming VM; its recovery will');
      }
    }
    crashPoint('live.source.after_rollback_dest', c.host);
    await confirmUntilDone(c, instance.uuid, {}, { success: false, paused });
    const timings = withPhase(migration.phase_timings, 'perform', { finished_at: nowIso(), ...perform(stats) });
    await advanceMigration(c.ds, migration.id, ['preparing', 'running', 'post-migrating'], status, 'source', {
      last_error: err.message.slice(0, 2000), phase_timings: timings, ...(stats ? progressOf(stats) : {}),
    });
    await releaseClaim(c.ds, instance.uuid, migration.dest_compute!);
    await updateInstanceIf(c.ds, instance.uuid, { task_states: ['migrating'], host: [c.host, migration.dest_compute] }, {
      task_state: null, host: c.host, node: migration.source_node ?? c.node, power_state: paused ? POWER_STATES.PAUSED : POWER_STATES.RUNNING,
    });
  });
}
