// One runner per migration step in a process: a redelivered message or a recovery pass never runs a step twice at once.
import type { ComputeContext } from '../compute-context';

/** The step of each migration this process runs now, by migration id: settles (never rejects) when it ends. */
const runningSteps = new WeakMap<ComputeContext, Map<number, Promise<void>>>();

function stepsOf(c: ComputeContext): Map<number, Promise<void>> {
  let steps = runningSteps.get(c);
  if (!steps) {
    steps = new Map();
    runningSteps.set(c, steps);
  }
  return steps;
}

/**
 * Runs fn unless this process already runs a step of the migration; returns false when it did not run it now. A step
 * asked while another runs (a confirm arriving while a recovery pass looks at the same record) runs once that one has
 * ended, in the background, reading the record as it then is: dropped, it would wait for the reconciler's next pass
 * over stale moves (FERRY_RECONCILE_MOVE_STEP_AFTER). Every step begins by reading its record, so one that is no
 * longer due does nothing. A process that is stopping runs no such step: the record stays for the next start.
 */
export async function runExclusive(c: ComputeContext, migrationId: number, fn: () => Promise<void>): Promise<boolean> {
  const steps = stepsOf(c);
  if (c.activeMoves.has(migrationId)) {
    const running = steps.get(migrationId);
    if (!running) {
      c.log.info({ migration_id: migrationId }, 'a step of this migration is already running here; message ignored');
      return false;
    }
    c.log.info({ migration_id: migrationId }, 'a step of this migration is already running here; this one runs when it ends');
    void running.then(async () => {
      if (c.stopping.aborted) return;
      await runExclusive(c, migrationId, fn);
    }).catch((err: unknown) => c.log.error({ migration_id: migrationId, err: (err as Error).message }, 'a step run after another of the same migration failed; the reconciler retries'));
    return false;
  }
  c.activeMoves.add(migrationId);
  const run = fn();
  const ended = run.then(() => undefined, () => undefined);
  steps.set(migrationId, ended);
  try {
    await run;
    return true;
  } finally {
    c.activeMoves.delete(migrationId);
    if (steps.get(migrationId) === ended) steps.delete(migrationId);
  }
}
