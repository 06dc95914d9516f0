// resize_instance on the source: copy the disk while the guest runs (pass 1), power off, copy what changed (pass 2),
// then hand the instance to the destination. A failure before the hand-over leaves the instance running here.
import { basename, dirname, join } from 'node:path';
import { advanceMoveAndInstance, patchMigration, runActionEvent, type EventedResult, type Migration } from '@ferry/common/db';
import { POWER_STATES } from '@ferry/common/domain';
import type { RequestContext } from '@ferry/common/rpc';
import type { ComputeContext } from '../compute-context';
import { peerDiskPath, type DirtyTracker, type VmInfo } from '../drivers';
import { endMoveOfDeletedInstance, instanceBeingDeleted, isBeingDeleted, nudgeOtherHost } from '../instance-ops/stop-move';
import { instanceNotification } from '../notifications';
import { diskCopyCap, movePolicy } from '../migration-policy';
import { totalLength, type ByteRange, type CopyRequest } from '../transfer';
import { diskColumns, DiskProgressWriter } from './disk-progress';
import { runExclusive } from './exclusive';
import { nowIso, withPhase } from '../phase-timings';
import { loadMove, type ColdMoveData, type MoveState } from './move-record';
import { rollBackToSource } from './rollback';
import { crashPoint } from '@ferry/common/chaos';

export const RESIZE_INSTANCE_EVENT = 'compute_resize_instance';

/** Starts the move (pre-migrating) or, after a restart of this host, resumes its copy (migrating). */
export async function resizeInstance(c: ComputeContext, ctx: RequestContext, migrationId: number): Promise<void> {
  let copyStep: EventedResult<void> | undefined;
  await runExclusive(c, migrationId, async () => {
    const move = await loadMove(c.ds, migrationId);
    if (!move || move.migration.source_compute !== c.host) {
      c.log.info({ migration_id: migrationId }, 'no cold move with this host as source; resize_instance ignored');
      return;
    }
    const { migration, instance } = move;
    if (!instance || isBeingDeleted(instance)) {
      await abandonForDelete(c, ctx, migration);
      return;
    }
    if (migration.status === 'pre-migrating') {
      const cap = copyCapOf(c, move);
      // The guest as the copy will find it: a running (or paused) one is copied in two passes, and pass 1's start rides
      // on this step's write. A guest the driver cannot answer for is looked at again inside the step, which fails it.
      const vm = await c.driver.getVm(instance.uuid).catch(() => undefined);
      const now = nowIso();
      let phaseTimings = withPhase(migration.phase_timings, 'migrating', { started_at: now });
      if (vm && copiedWhileRunning(vm)) phaseTimings = withPhase(phaseTimings, 'copy_pass_1', { started_at: now, ...cappedFields(cap) });
      const started = await advanceMoveAndInstance(c.ds,
        { migrationId: migration.id, from: ['pre-migrating'], to: 'migrating', by: 'source', patch: { phase_timings: phaseTimings } },
        { uuid: instance.uuid, expected: { task_states: ['resize_prep'], host: c.host }, patch: { task_state: 'resize_migrating', progress: 0 } });
      if (!started.record) return;
      if (!started.instance) {
        // Only a delete takes the task from a move: nothing is copied for an instance on its way out.
        await abandonForDelete(c, ctx, migration);
        return;
      }
      // What the write above made of the record and instance, without reading them back.
      Object.assign(migration, { status: 'migrating', phase_timings: phaseTimings });
      Object.assign(instance, { task_state: 'resize_migrating', progress: 0 });
      copyStep = await copyAndHandOver(c, ctx, move, cap, vm ? { vm } : undefined);
    } else if (migration.status === 'migrating') {
      c.log.info({ migration_id: migration.id, instance_uuid: instance.uuid }, 'resuming an interrupted disk copy');
      copyStep = await copyAndHandOver(c, ctx, move, copyCapOf(c, move));
    } else {
      c.log.info({ migration_id: migration.id, status: migration.status }, 'move is past the copy; resize_instance ignored');
    }
  });
  // The step's event is closed outside the step: once the hand-over is written, the move's next step here (the
  // confirm) must not find this one still running and be skipped.
  await copyStep?.closed;
}

/**
 * The instance is being deleted (perhaps before this record was even created): end the record and have the
 * destination drop what it prepared. This host's own copy is the terminate's to destroy.
 */
async function abandonForDelete(c: ComputeContext, ctx: RequestContext, migration: Migration): Promise<void> {
  c.log.info({ migration_id: migration.id, instance_uuid: migration.instance_uuid }, 'instance is being deleted; move abandoned before its copy');
  await endMoveOfDeletedInstance(c, migration.id);
  await nudgeOtherHost(c, ctx, migration, migration.instance_uuid);
}

type CopyCap = ReturnType<typeof diskCopyCap>;

/** A bandwidth the migration policy sets holds every copy of the move to it. */
function copyCapOf(c: ComputeContext, move: MoveState): CopyCap {
  return diskCopyCap(movePolicy(c, move.migration.id, move.instance!, move.imageProperties));
}

/** What each copy phase records of the cap. */
function cappedFields(cap: CopyCap): Record<string, unknown> {
  return cap ? { max_bytes_per_s: cap.value, max_bytes_per_s_from: cap.source } : {};
}

/** A running or paused guest keeps writing (or may again): its disk is copied once while it runs, then what changed. */
function copiedWhileRunning(vm: VmInfo): boolean {
  return vm.power_state === POWER_STATES.RUNNING || vm.power_state === POWER_STATES.PAUSED;
}

/**
 * Copies, then hands over; when the copy succeeded, returns its event's closing write, still under way. `fresh`: the
 * move has just started, and the guest is as the start saw it (pass 1's start, if any, is already in the record).
 */
async function copyAndHandOver(
  c: ComputeContext, ctx: RequestContext, move: MoveState, cap: CopyCap, fresh?: { vm: VmInfo },
): Promise<EventedResult<void> | undefined> {
  const { migration } = move;
  const instance = move.instance!;
  let data = move.data;
  const dest = migration.dest_compute!;
  const capped = cappedFields(cap);
  const progress = new DiskProgressWriter(c, migration.id, instance.uuid);
  // A delete stops the copy through this; a stopping service through c.stopping.
  const deleted = new AbortController();
  const signal = AbortSignal.any([c.stopping, deleted.signal]);
  c.coldCopies.set(migration.id, deleted);
  let stoppedByDelete = false;
  let timings = migration.phase_timings;
  // A phase's end is noted, and written with the next write the move makes anyway (the power-off's plan, or the
  // hand-over): a crash before it repeats the pass, as a crash during the pass would.
  const notePhase = (phase: string, fields: Record<string, unknown>, extra: Partial<ColdMoveData> = {}) => {
    timings = withPhase(timings, phase, fields);
    data = { ...data, ...extra };
  };
  const savePhase = async (phase: string, fields: Record<string, unknown>, extra: Partial<ColdMoveData> = {}) => {
    notePhase(phase, fields, extra);
    await patchMigration(c.ds, migration.id, ['migrating'], { phase_timings: timings, migrate_data: data as unknown as Record<string, unknown> });
  };
  const copy = (req: Omit<CopyRequest, 'signal' | 'maxBytesPerSecond'>) =>
    c.transfer.copy({ ...req, signal, ...(cap ? { maxBytesPerSecond: cap.value } : {}) });

  let copied: EventedResult<void>;
  try {
    copied = await runActionEvent(c.ds, ctx, instance.uuid, RESIZE_INSTANCE_EVENT, c.host, () =>
      instanceNotification(c, 'instance.resize', instance, async () => {
        try {
          const source = c.driver.diskPath(instance.uuid);
          const target = { host: dest, path: peerDiskPath(data.dest_disk_path, dest, instance.uuid) };
          const vm = fresh?.vm ?? (await c.driver.getVm(instance.uuid));
          if (!vm) throw new Error(`instance ${instance.uuid} has no VM on source host ${c.host}`);
          let ranges: ByteRange[] | undefined;
          let files: string[] = [];
          let pass1 = { total: 0, processed: 0 };
          if (copiedWhileRunning(vm)) {
            // Pass 1 while the guest runs; the tracker records what it writes meanwhile.
            const tracker: DirtyTracker = await c.driver.trackDirtyRegions(instance.uuid);
            try {
              // Pass 1's start: written with the step to `migrating` on a fresh start; on a resumed copy, while the copy
              // begins (neither waits for the other).
              const [r] = await Promise.all([
                copy({ source, dest: target, onProgress: progress.listener({ total: 0, processed: 0 }) }),
                fresh ? undefined : savePhase('copy_pass_1', { started_at: nowIso(), ...capped }),
              ]);
              notePhase('copy_pass_1', { finished_at: nowIso(), bytes_allocated: r.total, bytes: r.bytes, seconds: r.seconds }, { pass1_done: true });
              pass1 = { total: r.total, processed: r.total };
              crashPoint('cold.source.after_pass1', c.host);
              await c.driver.powerOff(instance.uuid);
              crashPoint('cold.source.after_power_off', c.host);
              ranges = tracker.ranges();
              files = await c.driver.pendingDiskFiles(instance.uuid);
            } finally {
              tracker.stop();
            }
            // The plan for pass 2 is saved before pass 2 runs, so that a restart copies only what it names. An empty
            // plan is only noted: it rides with the hand-over, a moment later; a restart in between copies the disk again.
            if (ranges.length === 0 && files.length === 0) notePhase('guest_stopped', { at: nowIso() }, { pass2_ranges: ranges, pass2_files: files });
            else await savePhase('guest_stopped', { at: nowIso() }, { pass2_ranges: ranges, pass2_files: files });
          } else {
            // Already off: stopped before the move, or this host restarted after powering it off.
            await c.driver.powerOff(instance.uuid);
            if (!timings.guest_stopped?.at) await savePhase('guest_stopped', { at: nowIso() });
            files = await c.driver.pendingDiskFiles(instance.uuid);
            // The plan saved at power-off holds only while the files it named are still there, unchanged in number.
            if (data.pass1_done && data.pass2_ranges && sameFiles(data.pass2_files ?? [], files)) ranges = data.pass2_ranges;
          }
          if (ranges?.length === 0 && files.length === 0) {
            // The guest wrote nothing during pass 1: the destination already has every byte.
            notePhase('copy_pass_2', { started_at: nowIso(), finished_at: nowIso(), ranges: 0, bytes_planned: 0, bytes: 0 });
          } else if (ranges) {
            await savePhase('copy_pass_2', { started_at: nowIso(), ranges: ranges.length, files: files.length, bytes_planned: totalLength(ranges), ...capped });
            const r = ranges.length > 0 ? await copy({ source, dest: target, ranges, onProgress: progress.listener(pass1) }) : { bytes: 0, seconds: 0 };
            const f = await copyBeside(files, target, instance.uuid, (file, to) => copy({ source: file, dest: to, onProgress: progress.listener(pass1) }));
            notePhase('copy_pass_2', { finished_at: nowIso(), bytes: r.bytes + f.bytes, seconds: r.seconds + f.seconds });
          } else {
            // No trustworthy record of what changed: copy the whole disk (and what lies over it) while the guest is off.
            await savePhase('copy_while_off', { started_at: nowIso(), ...capped });
            const r = await copy({ source, dest: target, onProgress: progress.listener({ total: 0, processed: 0 }) });
            const f = await copyBeside(files, target, instance.uuid, (file, to) => copy({ source: file, dest: to, onProgress: progress.listener({ total: 0, processed: 0 }) }));
            notePhase('copy_while_off', { finished_at: nowIso(), bytes: r.bytes + f.bytes, seconds: r.seconds + f.seconds });
          }
        } catch (err) {
          // Stopped by a delete, not failed: the step ends cleanly, with nothing to roll back to and no fault.
          if (!deleted.signal.aborted && !(await instanceBeingDeleted(c, instance.uuid))) throw err;
          stoppedByDelete = true;
        }
      }));
  } catch (err) {
    await progress.close();
    if (c.stopping.aborted) {
      // Not a failure of the move: this service is stopping. The record stays `migrating`; recovery resumes it.
      c.log.warn({ migration_id: migration.id, instance_uuid: instance.uuid }, 'disk copy interrupted by shutdown; it resumes when this compute starts again');
      return;
    }
    await rollBackToSource(c, ctx, migration.id, err as Error);
    return;
  } finally {
    c.coldCopies.delete(migration.id);
  }
  if (stoppedByDelete) {
    await progress.close();
    c.log.info({ migration_id: migration.id, instance_uuid: instance.uuid }, 'disk copy stopped: the instance is being deleted');
    return copied;
  }
  // The copy's last figures, unless a progress write already holds them, ride on the hand-over. It is written, and the
  // destination told, while the event's closing write lands.
  const figures = await progress.close();
  await handOver(c, ctx, migration, instance.uuid, {
    phase_timings: timings, migrate_data: data as unknown as Record<string, unknown>, ...(figures ? diskColumns(figures) : {}),
  });
  return copied;
}

function sameFiles(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((f, i) => f === b[i]);
}

/** Copies each file whole to the same name beside the destination's disk, one after the other. */
async function copyBeside(
  files: readonly string[], disk: { host: string; path: string }, uuid: string, copy: (file: string, to: { host: string; path: string }) => Promise<{ bytes: number; seconds: number }>,
): Promise<{ bytes: number; seconds: number }> {
  let bytes = 0;
  let seconds = 0;
  for (const file of files) {
    const r = await copy(file, { host: disk.host, path: peerDiskPath(join(dirname(disk.path), basename(file)), disk.host, uuid) });
    bytes += r.bytes;
    seconds += r.seconds;
  }
  return { bytes, seconds };
}

/**
 * The disk is on the destination: post-migrating (with the copy's last noted phases), the instance now names the
 * destination, which finishes the move.
 */
async function handOver(
  c: ComputeContext, ctx: RequestContext, migration: Migration, uuid: string,
  record: Pick<Migration, 'phase_timings' | 'migrate_data'> & Partial<Pick<Migration, 'disk_total' | 'disk_processed' | 'disk_remaining'>>,
): Promise<void> {
  const { id: migrationId, dest_node: destNode } = migration;
  const dest = migration.dest_compute!;
  const moved = await advanceMoveAndInstance(c.ds,
    { migrationId, from: ['migrating'], to: 'post-migrating', by: 'source', patch: record },
    { uuid, expected: { task_states: ['resize_migrating'], host: c.host }, patch: { task_state: 'resize_migrated', host: dest, node: destNode ?? dest, progress: 100 } });
  if (!moved.record) {
    c.log.warn({ migration_id: migrationId }, 'migration changed during the copy; not handing over');
    return;
  }
  if (!moved.instance) {
    // Deleted meanwhile: the instance stays named here, and this host's terminate ends the record and clears both sides.
    c.log.info({ migration_id: migrationId, instance_uuid: uuid }, 'instance is being deleted; not handing over');
    return;
  }
  c.log.info({ migration_id: migrationId, instance_uuid: uuid, dest }, 'disk copied and guest stopped; destination finishes the move');
  crashPoint('cold.source.after_post_migrating', c.host);
  await castFinish(c, ctx, migrationId, dest);
}

export async function castFinish(c: ComputeContext, ctx: RequestContext, migrationId: number, dest: string): Promise<void> {
  try {
    await c.computeRpc.finishResize(ctx, dest, migrationId);
  } catch (err) {
    c.log.error({ migration_id: migrationId, dest, err: (err as Error).message }, 'cannot cast finish_resize; recovery will retry');
  }
}
