// This compute's reconciler pass: the records it owns (the instance's host, or the move's source) left past their
// deadline because a cast to it was lost. Each is handed to the step the cast would have run, which passes the same
// checks and CAS, and this process's own run registry: a late original message and the re-drive cannot both act.
import { advanceInstanceTask, claimStuck, failAction, getInstance, latestActionRequester, type StuckKind, type StuckRecord } from '@ferry/common/db';
import { buildRequestSpecOf, HARD_REBOOT_TASK_STATES, RESCUE_REQUESTED_IMAGE_KEY } from '@ferry/common/domain';
import { countReconcilerAction, countReconcilerPass } from '@ferry/common/metrics';
import { newRequestContext } from '@ferry/common/rpc';
import { buildAndRunInstance } from '../build-instance/build-instance';
import { settleInterruptedBuild } from './interrupted-builds';
import type { ComputeContext, ComputeSettings } from '../compute-context';
import { POWER_ACTIONS, runPowerAction, type PowerActionName } from '../instance-ops/power-actions';
import { rescueInstance, unrescueInstance } from '../instance-ops/rescue';
import { loadLiveMove } from '../live-migration/live-record';
import { startLiveMigration } from '../live-migration/source';
import { redriveEvacuation } from '../evacuation/recovery';

interface HostRedrive {
  kind: StuckKind;
  deadline: keyof ComputeSettings & `reconcile${string}Seconds`;
  /** The task states it looks for (host_task only). */
  tasks?: readonly string[];
  /** Re-drives one record; false when a run of this process already has it. */
  redrive(c: ComputeContext, stuck: StuckRecord): Promise<boolean>;
}

/** Each power action's task states, and the action that settles them. */
const POWER_TASKS = new Map<string, PowerActionName>(
  (Object.keys(POWER_ACTIONS) as PowerActionName[]).flatMap((name) => POWER_ACTIONS[name].taskStates.map((t): [string, PowerActionName] => [t as string, name])),
);
const UNRESCUING = 'unrescuing';
const RESCUING = 'rescuing';

/**
 * build_spawning: taken here, but no run finished it (its end write failed on a database error): settled as a
 * restart settles it. build_assigned: placed here by the scheduler, the build never arrived; it runs with the request the API stored
 * (without the alternates the lost message carried: a failed spawn then ends in ERROR rather than another host).
 * live_queued: checked and queued here, never started (the live_migration cast was lost, or its run died with the
 * process). live_cancelled: aborted while this host was down; the run sees `cancelled` and ends the move before it
 * began. host_task: a power action, rescue or unrescue never run here; each is idempotent, so it simply runs (an
 * instance already in the wanted state has its task cleared); a rescue takes the image the API kept on the instance.
 */
export const HOST_REDRIVES: readonly HostRedrive[] = [
  { kind: 'build_assigned', deadline: 'reconcileBuildSeconds', redrive: redriveBuild },
  { kind: 'build_spawning', deadline: 'reconcileBuildSeconds', redrive: settleSpawning },
  { kind: 'live_queued', deadline: 'reconcileLiveQueuedSeconds', redrive: redriveLiveRun },
  { kind: 'live_cancelled', deadline: 'reconcileLiveQueuedSeconds', redrive: redriveLiveRun },
  { kind: 'evacuation_rebuilding', deadline: 'reconcileMoveStepSeconds', redrive: (c, stuck) => redriveEvacuation(c, stuck.migration_id!) },
  { kind: 'evacuation_done', deadline: 'reconcileMoveStepSeconds', redrive: (c, stuck) => redriveEvacuation(c, stuck.migration_id!) },
  { kind: 'host_task', deadline: 'reconcileTaskSeconds', tasks: [...POWER_TASKS.keys(), RESCUING, UNRESCUING], redrive: redriveTask },
];

async function redriveBuild(c: ComputeContext, stuck: StuckRecord): Promise<boolean> {
  const instance = await getInstance(c.ds, stuck.instance_uuid);
  if (!instance) return false;
  const ctx = newRequestContext(await latestActionRequester(c.ds, instance.uuid));
  await buildAndRunInstance(c, ctx, { instance_uuid: instance.uuid, request_spec: buildRequestSpecOf(instance), alternates: [] });
  return true;
}

async function settleSpawning(c: ComputeContext, stuck: StuckRecord): Promise<boolean> {
  // A build of this process still spawning it: nothing was lost.
  if (c.activeTasks.has(stuck.instance_uuid)) return false;
  await settleInterruptedBuild(c, stuck.instance_uuid, `no run on ${c.host} finished it within the build deadline`);
  return true;
}

async function redriveLiveRun(c: ComputeContext, stuck: StuckRecord): Promise<boolean> {
  const id = stuck.migration_id!;
  // A run of this process has it (waiting for a slot, or running): nothing was lost.
  if (c.activeMoves.has(id) || c.live.running(id)) return false;
  const move = await loadLiveMove(c.ds, id);
  if (!move) return false;
  startLiveMigration(c, move.ctx, id);
  return true;
}

async function redriveTask(c: ComputeContext, stuck: StuckRecord): Promise<boolean> {
  const uuid = stuck.instance_uuid;
  if (c.activeTasks.has(uuid)) return false;
  const instance = await getInstance(c.ds, uuid);
  const task = instance?.task_state;
  const ctx = newRequestContext(await latestActionRequester(c.ds, uuid));
  if (task === UNRESCUING) {
    await unrescueInstance(c, ctx, uuid);
    return true;
  }
  if (task === RESCUING) {
    const image = instance?.system_metadata?.[RESCUE_REQUESTED_IMAGE_KEY];
    if (!image) {
      // No image kept with the task (written before images were kept): the rescue cannot be run again, so it is
      // dropped as a refused request would be; the guest was never touched.
      if (await advanceInstanceTask(c.ds, uuid, [RESCUING], null)) await failAction(c.ds, ctx, uuid);
      return true;
    }
    await rescueInstance(c, ctx, uuid, image);
    return true;
  }
  const name = task ? POWER_TASKS.get(task) : undefined;
  if (!name) return false;
  const hard = (HARD_REBOOT_TASK_STATES as readonly string[]).includes(task!);
  await runPowerAction(c, ctx, name, { instance_uuid: uuid, ...(name === 'reboot' ? { reboot_type: hard ? 'HARD' : 'SOFT' } : {}) });
  return true;
}

/** Returns how many records it re-drove. */
export async function reconcileHost(c: ComputeContext): Promise<number> {
  const owner = `compute:${c.host}`;
  countReconcilerPass('compute');
  let actions = 0;
  for (const r of HOST_REDRIVES) {
    for (const stuck of await claimStuck(c.ds, r.kind, c.config[r.deadline], { host: c.host, tasks: r.tasks })) {
      if (c.stopping.aborted) break;
      const fields = { kind: r.kind, instance_uuid: stuck.instance_uuid, migration_id: stuck.migration_id, age_seconds: stuck.age_seconds, owner };
      try {
        if (!(await r.redrive(c, stuck))) continue;
        c.log.info(fields, 're-drove a step left past its deadline');
        actions++;
        countReconcilerAction('compute', r.kind, 'redriven');
      } catch (err) {
        countReconcilerAction('compute', r.kind, 'failed');
        c.log.error({ ...fields, err: (err as Error).message }, 're-drive failed; the next pass past the deadline tries again');
      }
    }
  }
  // Every pass reports its count; a pass that found nothing only at debug (it runs every interval on every host).
  c.log[actions > 0 ? 'info' : 'debug']({ owner, actions }, 'compute reconciler pass done');
  return actions;
}
