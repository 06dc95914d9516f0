// The scheduler's reconciler pass: one scheduler at a time (a Postgres advisory lock held while the stuck records are
// found and claimed), then each claimed record's step runs again.
import type { FerryConfig } from '@ferry/common/config';
import { claimStuck, whileElected, type StuckRecord } from '@ferry/common/db';
import type { Logger } from '@ferry/common/log';
import { countReconcilerAction, countReconcilerPass } from '@ferry/common/metrics';
import type { DataSource } from 'typeorm';
import { computeUsable } from '../filters/compute-filter';
import { loadHostStates } from '../load-hosts';
import type { SchedulerManager } from '../manager';
import { SCHEDULER_REDRIVES, type SchedulerRedrive } from './redrives';

/** The advisory lock a scheduler holds while it finds and claims stuck records. */
export const SCHEDULER_RECONCILER_LOCK = 'ferry-scheduler-reconciler';

export interface SchedulerReconcilerDeps {
  ds: DataSource;
  config: Readonly<Pick<FerryConfig, SchedulerRedrive['deadline'] | 'serviceDownSeconds'>>;
  log: Logger;
  manager: SchedulerManager;
  /** Who runs the pass, for the logs (the scheduler's binary and host). */
  owner: string;
}

export interface SchedulerPassReport {
  elected: boolean;
  actions: number;
}

export async function reconcileScheduler(deps: SchedulerReconcilerDeps): Promise<SchedulerPassReport> {
  const { ds, config, log, owner } = deps;
  // No compute up (all-in-one restarting: the scheduler starts first): every re-drive would end in NoValidHost and
  // fail what only waited. The records stay for a pass that finds a compute.
  if (!(await loadHostStates(ds, config.serviceDownSeconds)).some(computeUsable)) {
    log.info({ owner }, 'no compute service is up; the reconciler pass waits for one');
    return { elected: false, actions: 0 };
  }
  const claimed = await whileElected(ds, SCHEDULER_RECONCILER_LOCK, async (em) => {
    const found: { redrive: SchedulerRedrive; stuck: StuckRecord }[] = [];
    for (const redrive of SCHEDULER_REDRIVES) {
      for (const stuck of await claimStuck(em, redrive.kind, config[redrive.deadline])) found.push({ redrive, stuck });
    }
    return found;
  });
  if (!claimed.elected) {
    log.debug({ owner }, 'another scheduler holds the reconciler lock; this pass does nothing');
    return { elected: false, actions: 0 };
  }
  countReconcilerPass('scheduler');
  let actions = 0;
  for (const { redrive, stuck } of claimed.value) {
    const fields = { kind: redrive.kind, instance_uuid: stuck.instance_uuid, migration_id: stuck.migration_id, age_seconds: stuck.age_seconds, owner };
    log.info(fields, 're-driving a step left past its deadline');
    try {
      await redrive.redrive(deps.manager, deps, stuck);
      actions++;
      countReconcilerAction('scheduler', redrive.kind, 'redriven');
    } catch (err) {
      countReconcilerAction('scheduler', redrive.kind, 'failed');
      log.error({ ...fields, err: (err as Error).message }, 're-drive failed; the next pass past the deadline tries again');
    }
  }
  log[actions > 0 ? 'info' : 'debug']({ owner, actions }, 'scheduler reconciler pass done');
  return { elected: true, actions };
}
