// stop, start, reboot, pause, unpause, suspend, resume: each a row of data (the task the API set, the driver call, the result)
// run by one function that makes every one of them idempotent.
import { getInstance, recordInstanceFault, updateInstanceIf, withActionEvent } from '@ferry/common/db';
import {
  HARD_REBOOT_TASK_STATES, POWER_STATES, SOFT_REBOOT_TASK_STATES, VM_STATES, type PowerState, type TaskState, type VmState,
} from '@ferry/common/domain';
import type { RequestContext } from '@ferry/common/rpc';
import type { ComputeContext } from '../compute-context';
import { DiskNotFound, VmNotFound, type Driver } from '../drivers';
import { instanceNotification } from '../notifications';
import { instanceBeingDeleted } from './stop-move';
import type { RebootType } from '../client/wire-types';
import { withDefinition } from './regenerate';
import { onceHere } from './task-once';

export interface PowerActionArgs {
  instance_uuid: string;
  reboot_type?: RebootType;
}

export interface PowerAction {
  /** The instance action event it records (Nova's names). */
  event: string;
  /** The task_states the API sets before casting it: anything else means there is nothing (more) to do. */
  taskStates: readonly TaskState[];
  run(driver: Driver, args: PowerActionArgs): Promise<void>;
  /** What the instance is once the driver call returned. */
  result: { vm_state: VmState; power_state: PowerState };
  /** A VM the host does not have already is what the action wants (Nova's power_off of a missing domain). */
  doneWithoutVm?: boolean;
  /** A VM whose definition is missing is defined anew from the database over its disk first (start, hard reboot). */
  regenerates?: (args: PowerActionArgs) => boolean;
  /** The versioned notification around the driver call (`<name>.start`, `.end`, `.error`), where Nova sends one. */
  notification?: string;
}

export const POWER_ACTIONS = {
  stop: {
    event: 'compute_stop_instance', taskStates: ['powering-off'],
    run: (d, a) => d.powerOff(a.instance_uuid),
    result: { vm_state: VM_STATES.STOPPED, power_state: POWER_STATES.SHUTDOWN },
    doneWithoutVm: true,
  },
  start: {
    event: 'compute_start_instance', taskStates: ['powering-on'],
    run: (d, a) => d.powerOn(a.instance_uuid),
    result: { vm_state: VM_STATES.ACTIVE, power_state: POWER_STATES.RUNNING },
    regenerates: () => true,
  },
  reboot: {
    event: 'compute_reboot_instance', taskStates: [...SOFT_REBOOT_TASK_STATES, ...HARD_REBOOT_TASK_STATES],
    run: (d, a) => d.reboot(a.instance_uuid, a.reboot_type ?? 'SOFT'),
    result: { vm_state: VM_STATES.ACTIVE, power_state: POWER_STATES.RUNNING },
    regenerates: (a) => a.reboot_type === 'HARD',
  },
  pause: {
    event: 'compute_pause_instance', taskStates: ['pausing'],
    run: (d, a) => d.pause(a.instance_uuid),
    result: { vm_state: VM_STATES.PAUSED, power_state: POWER_STATES.PAUSED },
  },
  unpause: {
    event: 'compute_unpause_instance', taskStates: ['unpausing'],
    run: (d, a) => d.unpause(a.instance_uuid),
    result: { vm_state: VM_STATES.ACTIVE, power_state: POWER_STATES.RUNNING },
  },
  suspend: {
    event: 'compute_suspend_instance', taskStates: ['suspending'],
    run: (d, a) => d.suspend(a.instance_uuid),
    result: { vm_state: VM_STATES.SUSPENDED, power_state: POWER_STATES.SUSPENDED },
    notification: 'instance.suspend',
  },
  resume: {
    event: 'compute_resume_instance', taskStates: ['resuming'],
    run: (d, a) => d.resume(a.instance_uuid),
    result: { vm_state: VM_STATES.ACTIVE, power_state: POWER_STATES.RUNNING },
    notification: 'instance.resume',
  },
} as const satisfies Record<string, PowerAction>;

export type PowerActionName = keyof typeof POWER_ACTIONS;

/**
 * Runs the action if the instance is on this host with one of the action's task states; otherwise (already
 * done, superseded, or elsewhere) it is a no-op. A driver failure clears the task, records the real power
 * state and a fault, as Nova does, and fails the event.
 */
export function runPowerAction(c: ComputeContext, ctx: RequestContext, name: PowerActionName, args: PowerActionArgs): Promise<void> {
  return onceHere(c, args.instance_uuid, () => powerActionHere(c, ctx, name, args));
}

async function powerActionHere(c: ComputeContext, ctx: RequestContext, name: PowerActionName, args: PowerActionArgs): Promise<void> {
  const action: PowerAction = POWER_ACTIONS[name];
  const uuid = args.instance_uuid;
  const instance = await getInstance(c.ds, uuid);
  if (!instance || instance.deleted_at || instance.host !== c.host || !(action.taskStates as readonly (string | null)[]).includes(instance.task_state)) {
    c.log.info({ instance_uuid: uuid, action: name, host: instance?.host, task_state: instance?.task_state }, 'nothing to do for this request; ignored');
    return;
  }
  const expected = { task_states: action.taskStates, host: c.host };
  const work = async () => {
    const result = await callDriver(c, action, args, expected);
    const done = await updateInstanceIf(c.ds, uuid, expected, { ...result, task_state: null });
    if (!done) c.log.warn({ instance_uuid: uuid, action: name }, 'instance changed while the driver worked; its new state stands');
  };
  const notified = action.notification;
  await withActionEvent(c.ds, ctx, uuid, action.event, c.host, notified ? () => instanceNotification(c, notified, instance, work) : work);
}

/** The instance's state after the driver call; on failure, the task is cleared with a fault and the error rethrown. */
async function callDriver(
  c: ComputeContext, action: PowerAction, args: PowerActionArgs, expected: { task_states: readonly TaskState[]; host: string },
): Promise<PowerAction['result']> {
  const uuid = args.instance_uuid;
  try {
    const run = () => action.run(c.driver, args);
    await (action.regenerates?.(args) ? withDefinition(c, uuid, run) : run());
    return action.result;
  } catch (err) {
    if (action.doneWithoutVm && err instanceof VmNotFound) return { ...action.result, power_state: POWER_STATES.NOSTATE };
    // A delete overtook the action (its VM may be gone already): not a failure to record on an instance on its way out.
    if (await instanceBeingDeleted(c, uuid)) return action.result;
    await recordInstanceFault(c.ds, { instance_uuid: uuid, code: 500, message: (err as Error).message, details: (err as Error).stack ?? null, host: c.host });
    // Without its disk the instance cannot run here again: ERROR, as Nova leaves an instance it cannot boot.
    const lost = err instanceof DiskNotFound ? { vm_state: VM_STATES.ERROR } : {};
    await updateInstanceIf(c.ds, uuid, expected, { task_state: null, power_state: await observedPowerState(c, uuid), ...lost });
    throw err;
  }
}

/** The power state the driver sees now (NOSTATE when the VM is gone or the driver cannot tell). */
export async function observedPowerState(c: ComputeContext, uuid: string): Promise<PowerState> {
  try {
    return (await c.driver.getVm(uuid))?.power_state ?? POWER_STATES.NOSTATE;
  } catch {
    return POWER_STATES.NOSTATE;
  }
}
