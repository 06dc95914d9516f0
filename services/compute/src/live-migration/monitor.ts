// Watching a running live-migration job from the source: progress into the record every tick, the downtime ramp,
// and the completion timeout's action. Resolves with the job's cookie, or rejects as the job does.
// The first progress write comes one interval in (a job just started has nothing to show), and the last one is the
// caller's: the job's final figures go into the status write that ends the transfer (progressOf), not a write of their own.
import { recordLiveProgress, type LiveSteerRequest, type Migration } from '@ferry/common/db';
import type { MigrationPolicy } from '@ferry/common/domain';
import type { ComputeContext } from '../compute-context';
import type { LiveMigrationJob, LiveMigrationJobStats } from '../drivers';
import type { MigrationCookie } from '../client/wire-types';
import { completionTimeoutSeconds, downtimeAt, downtimeSteps } from './downtime-ramp';

export interface MonitorTarget {
  migrationId: number;
  ramBytes: number;
  /** The policy in force: the ramp's final downtime and the completion timeout per GiB. */
  policy: Pick<MigrationPolicy, 'max_downtime_ms' | 'completion_timeout_s_per_gib'>;
  /** Called once when the completion timeout passes, with the action taken. */
  onTimeout?: (action: 'abort' | 'force_complete') => void;
  /** Called once per kind when the record carries an abort or force-complete (its message may never come). */
  onSteerRequest?: (request: LiveSteerRequest) => void;
}

export async function monitorJob(c: ComputeContext, job: LiveMigrationJob, t: MonitorTarget): Promise<MigrationCookie> {
  const steps = downtimeSteps({
    maxDowntimeMs: t.policy.max_downtime_ms, steps: c.config.liveMigrationDowntimeSteps, delaySecondsPerGib: c.config.liveMigrationDowntimeDelay,
  }, t.ramBytes);
  const timeout = completionTimeoutSeconds(t.policy.completion_timeout_s_per_gib, t.ramBytes);
  let settled = false;
  const done = job.done.finally(() => { settled = true; });
  const quiet = done.then(() => undefined, () => undefined);
  let timedOut = false;
  let allowed = -1;
  const applied = new Set<LiveSteerRequest>();
  /** The downtime ramp and the completion timeout, as the job stands now. */
  const steer = (s: LiveMigrationJobStats) => {
    const elapsed = s.elapsed_ms / 1000;
    const downtime = downtimeAt(steps, elapsed);
    if (downtime !== allowed && s.phase === 'running') {
      allowed = downtime;
      job.setMaxDowntime(downtime);
    }
    if (timeout > 0 && elapsed > timeout && !timedOut && s.phase === 'running') {
      timedOut = true;
      const action = c.config.liveMigrationTimeoutAction;
      c.log.warn({ migration_id: t.migrationId, elapsed_s: Math.round(elapsed), timeout_s: Math.round(timeout), action }, 'live migration past its completion timeout');
      t.onTimeout?.(action);
      if (action === 'abort') job.abort();
      else job.forceComplete();
    }
  };
  const tick = async () => {
    const s = job.stats();
    const asked = await record(c, t.migrationId, s);
    if (asked && !applied.has(asked)) {
      applied.add(asked);
      c.log.info({ migration_id: t.migrationId, request: asked }, 'applying the request kept on the live migration record');
      t.onSteerRequest?.(asked);
    }
    steer(s);
  };
  steer(job.stats());
  while (!settled) {
    await Promise.race([quiet, new Promise((r) => setTimeout(r, c.config.liveMigrationMonitorMs).unref())]);
    if (!settled) await tick();
  }
  return done;
}

/** The record's progress columns from the job's figures. */
export function progressOf(s: LiveMigrationJobStats): Pick<Migration, 'memory_total' | 'memory_processed' | 'memory_remaining' | 'disk_total' | 'disk_processed' | 'disk_remaining'> {
  return {
    memory_total: s.memory_total, memory_processed: s.memory_processed, memory_remaining: s.memory_remaining,
    disk_total: s.disk_total, disk_processed: s.disk_processed, disk_remaining: s.disk_remaining,
  };
}

/** Writes progress; returns the abort or force-complete the record carries, if any. */
async function record(c: ComputeContext, migrationId: number, s: LiveMigrationJobStats): Promise<LiveSteerRequest | null> {
  try {
    const { steer_request } = await recordLiveProgress(c.ds, migrationId, progressOf(s));
    return steer_request;
  } catch (err) {
    c.log.warn({ migration_id: migrationId, err: (err as Error).message }, 'cannot record live migration progress');
    return null;
  }
}
