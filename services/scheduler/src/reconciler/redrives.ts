// What the elected scheduler re-drives, as data: each stuck kind, the setting that is its deadline, and the step it
// runs again. Each step is the scheduler's own handler, so it passes the same checks and CAS a late original
// message passes: of the two, whichever comes second finds nothing left to do.
import type { FerryConfig } from '@ferry/common/config';
import {
  failAction, getInstance, getMigration, latestActionRequester, type StuckKind, type StuckRecord,
} from '@ferry/common/db';
import { advanceInstanceTaskAsScheduler } from '@ferry/common/scheduling';
import { buildRequestSpecOf, MOVE_REQUESTED_HOST_KEY, TASK_STATES } from '@ferry/common/domain';
import { newRequestContext, type RequestContext } from '@ferry/common/rpc';
import type { DataSource } from 'typeorm';
import type { SchedulerManager } from '../manager';

/** The settings that are the scheduler's deadlines. */
type DeadlineSetting = keyof FerryConfig & ('reconcileBuildSeconds' | 'reconcileMovePrepSeconds' | 'reconcileLiveAcceptedSeconds');

export interface SchedulerRedrive {
  kind: StuckKind;
  deadline: DeadlineSetting;
  redrive(manager: SchedulerManager, deps: RedriveDeps, stuck: StuckRecord): Promise<void>;
}

export interface RedriveDeps {
  ds: DataSource;
}

export const SCHEDULER_REDRIVES: readonly SchedulerRedrive[] = [
  { kind: 'build_scheduling', deadline: 'reconcileBuildSeconds', redrive: redriveBuild },
  { kind: 'move_prep', deadline: 'reconcileMovePrepSeconds', redrive: redriveMovePrep },
  { kind: 'live_accepted', deadline: 'reconcileLiveAcceptedSeconds', redrive: redriveLiveAccepted },
  { kind: 'live_unrecorded', deadline: 'reconcileLiveAcceptedSeconds', redrive: dropUnrecordedLiveMigration },
  { kind: 'evacuation_accepted', deadline: 'reconcileLiveAcceptedSeconds', redrive: redriveEvacuationAccepted },
];

/** The request context of the instance's latest action: the re-driven step records its events there. */
async function actionContext(deps: RedriveDeps, uuid: string): Promise<RequestContext> {
  return newRequestContext(await latestActionRequester(deps.ds, uuid));
}

async function redriveBuild(manager: SchedulerManager, deps: RedriveDeps, stuck: StuckRecord): Promise<void> {
  const instance = await getInstance(deps.ds, stuck.instance_uuid);
  if (!instance) return;
  await manager.schedule_and_build_instances(await actionContext(deps, instance.uuid), { instance_uuids: [instance.uuid], request_spec: buildRequestSpecOf(instance) });
}

async function redriveMovePrep(manager: SchedulerManager, deps: RedriveDeps, stuck: StuckRecord): Promise<void> {
  const instance = await getInstance(deps.ds, stuck.instance_uuid);
  if (!instance?.new_flavor) return;
  const host = instance.system_metadata?.[MOVE_REQUESTED_HOST_KEY];
  // The API refuses a resize to the same flavor: the same flavor on both sides is a migration.
  const resize = instance.old_flavor !== null && instance.old_flavor.flavorid !== instance.new_flavor.flavorid;
  await manager.migrate_server(await actionContext(deps, instance.uuid), {
    instance_uuid: instance.uuid, migration_type: resize ? 'resize' : 'migration', new_flavor: instance.new_flavor, ...(host ? { host } : {}),
  });
}

/** The context the API stored on the record, else the instance's latest action's. */
async function recordContext(deps: RedriveDeps, migrationId: number): Promise<RequestContext | undefined> {
  const m = await getMigration(deps.ds, migrationId);
  if (!m) return undefined;
  const stored = (m.migrate_data as { request_context?: RequestContext } | null)?.request_context;
  return stored?.request_id ? newRequestContext(stored) : actionContext(deps, m.instance_uuid);
}

async function redriveLiveAccepted(manager: SchedulerManager, deps: RedriveDeps, stuck: StuckRecord): Promise<void> {
  const ctx = await recordContext(deps, stuck.migration_id!);
  if (ctx) await manager.live_migrate_server(ctx, { migration_id: stuck.migration_id! });
}

async function redriveEvacuationAccepted(manager: SchedulerManager, deps: RedriveDeps, stuck: StuckRecord): Promise<void> {
  const ctx = await recordContext(deps, stuck.migration_id!);
  if (ctx) await manager.evacuate_server(ctx, { migration_id: stuck.migration_id! });
}

/** The API took the task but died before the record: the request never reached anyone, so the task goes back. */
async function dropUnrecordedLiveMigration(_manager: SchedulerManager, deps: RedriveDeps, stuck: StuckRecord): Promise<void> {
  if (!(await advanceInstanceTaskAsScheduler(deps.ds, stuck.instance_uuid, [TASK_STATES.MIGRATING], null))) return;
  const requester = await latestActionRequester(deps.ds, stuck.instance_uuid);
  if (requester) await failAction(deps.ds, requester, stuck.instance_uuid);
}
