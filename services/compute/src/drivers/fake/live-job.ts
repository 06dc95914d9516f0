// A fake live-migration job: block copy first (when asked), then the pre-copy model advanced on a scaled clock;
// abort, force-complete (post-copy or pause) and a downtime the monitor raises, as QEMU's migration job offers.
import { performance } from 'node:perf_hooks';
import type { LiveMigrationJob, LiveMigrationJobPhase, LiveMigrationJobStats } from '../live-migration';
import type { MigrationCookie } from '../../client/wire-types';
import { DriverError, LiveMigrationCancelled } from '../errors';
import { copyBlockDevice, type BlockCopyPlan } from './block-copy';
import {
  advancePrecopy, expectedDowntimeMs, forceCompletion, isCompleted, remainingBytes, startPrecopy, type PrecopyState,
} from './precopy-model';

/** What the job does to the source guest, through its driver (the VM's state file). */
export interface FakeJobGuest {
  /** Force-complete without post-copy pauses the guest. */
  pause(): Promise<void>;
  /** The job failed or was cancelled after pausing the guest: it goes back to how it was. */
  restore(): Promise<void>;
  /** The job completed: the source guest stays paused, as QEMU leaves it. */
  completed(): Promise<void>;
}

export interface FakeJobOptions {
  ramBytes: number;
  /** Bytes per second, for RAM and disk alike. */
  bandwidth: number;
  dirtyRate: number;
  autoConverge: boolean;
  postCopyAllowed: boolean;
  maxDowntimeMs: number;
  /** Wall seconds per simulated second. */
  timeScale: number;
  /** Block migration: the regions of this disk that hold data go into that one (the destination's), before RAM. */
  disk?: { source: string; dest: string; plan: BlockCopyPlan };
  /** Fail once half of RAM has been sent (the `live_migration_job` fault point). */
  failWith?: Error;
  guest: FakeJobGuest;
  /** What `done` resolves with (plus when and how it completed). */
  cookie: MigrationCookie;
}

/** Wall ms between two steps of the simulation. */
const TICK_MS = 5;
/** A stalled event loop does not make the simulation leap: a step covers this much wall time at most. */
const MAX_STEP_WALL_MS = 100;

export class FakeLiveMigrationJob implements LiveMigrationJob {
  readonly done: Promise<MigrationCookie>;
  private phase: LiveMigrationJobPhase = 'running';
  private readonly model: PrecopyState;
  private diskProcessed = 0;
  private error: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastStepAt = 0;
  private readonly copying = new AbortController();
  /** Changes to the source guest, one after another; the job settles only once they have landed. */
  private effects: Promise<void> = Promise.resolve();
  private pausedGuest = false;
  private settle!: { resolve: (c: MigrationCookie) => void; reject: (e: Error) => void };

  constructor(private readonly o: FakeJobOptions) {
    if (!(o.timeScale > 0 && Number.isFinite(o.timeScale))) throw new RangeError(`timeScale must be a positive number, got ${o.timeScale}`);
    this.model = startPrecopy({ ramBytes: o.ramBytes, bandwidth: o.bandwidth, dirtyRate: o.dirtyRate, autoConverge: o.autoConverge, maxDowntimeMs: o.maxDowntimeMs });
    this.done = new Promise((resolve, reject) => { this.settle = { resolve, reject }; });
    // A rejection nobody awaited yet must not crash the process; the flow awaits `done` later.
    this.done.catch(() => undefined);
    void this.run();
  }

  /** The pre-copy simulation as it stands (throttle, downtime taken, …), for tests and benchmarks. */
  precopy(): Readonly<PrecopyState> {
    return this.model;
  }

  private async run(): Promise<void> {
    const disk = this.o.disk;
    if (disk) {
      try {
        await copyBlockDevice(disk.source, disk.dest, disk.plan, {
          signal: this.copying.signal,
          onProgress: (processed) => { this.diskProcessed = Math.max(this.diskProcessed, Math.min(processed, disk.plan.bytes)); },
        });
      } catch (err) {
        this.fail(new DriverError(`block migration copy of ${disk.source} to ${disk.dest} failed: ${(err as Error).message}`, {
          source: disk.source, dest: disk.dest,
        }));
        return;
      }
      this.diskProcessed = disk.plan.bytes;
    }
    if (this.phase !== 'running') return;
    this.lastStepAt = performance.now();
    this.timer = setInterval(() => this.step(), TICK_MS);
    this.timer.unref();
  }

  private step(): void {
    if (this.phase !== 'running' || isCompleted(this.model)) return;
    const now = performance.now();
    const wallMs = Math.min(now - this.lastStepAt, MAX_STEP_WALL_MS);
    this.lastStepAt = now;
    if (this.o.failWith) {
      // The fault strikes when half of RAM has gone: the simulation stops there, however long the step.
      const half = this.o.ramBytes / 2;
      advancePrecopy(this.model, Math.min(wallMs / this.o.timeScale, (Math.max(0, half - this.model.processed) / this.o.bandwidth) * 1000));
      if (this.model.processed >= half - 1) {
        this.fail(this.o.failWith);
        return;
      }
    } else {
      advancePrecopy(this.model, wallMs / this.o.timeScale);
    }
    if (!isCompleted(this.model)) return;
    this.stopTimer();
    this.effect(() => this.o.guest.completed()).then(() => {
      if (this.phase !== 'running') return;
      this.phase = 'completed';
      this.settle.resolve({ ...this.o.cookie, completed_at: new Date().toISOString(), postcopy: this.model.postcopy, paused: this.model.paused });
    }, (err: unknown) => this.fail(err as Error));
  }

  private effect(op: () => Promise<void>): Promise<void> {
    const run = this.effects.then(op);
    this.effects = run.catch(() => undefined);
    return run;
  }

  /** Ends the job as failed (or cancelled), once: the guest is put back as it was before `done` rejects. */
  private fail(err: Error): void {
    if (this.phase !== 'running') return;
    this.stopTimer();
    this.copying.abort(err);
    this.phase = err instanceof LiveMigrationCancelled ? 'cancelled' : 'failed';
    this.error = err.message;
    const restored = this.pausedGuest ? this.effect(() => this.o.guest.restore()) : this.effects;
    void restored.catch(() => undefined).then(() => this.settle.reject(err));
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  stats(): LiveMigrationJobStats {
    const m = this.model;
    // What the copy moves (the disk's allocated regions), not the disk's size.
    const diskTotal = this.o.disk?.plan.bytes ?? 0;
    // The mirror of a block migration moves the disk at the link's bandwidth before RAM goes (on the simulated clock).
    const diskMs = (this.diskProcessed / this.o.bandwidth) * 1000;
    return {
      phase: this.phase,
      memory_total: m.ramBytes, memory_processed: Math.round(m.processed), memory_remaining: Math.round(remainingBytes(m)),
      disk_total: diskTotal, disk_processed: this.diskProcessed, disk_remaining: diskTotal - this.diskProcessed,
      iterations: m.iterations, elapsed_ms: Math.round(diskMs + m.elapsedMs), expected_downtime_ms: Math.round(expectedDowntimeMs(m)),
      max_downtime_ms: m.maxDowntimeMs, postcopy: m.postcopy, paused: m.paused, ...(this.error !== undefined ? { error: this.error } : {}),
    };
  }

  setMaxDowntime(ms: number): void {
    if (!(ms >= 0 && Number.isFinite(ms))) throw new RangeError(`max downtime must be a non-negative number of ms, got ${ms}`);
    this.model.maxDowntimeMs = ms;
  }

  /**
   * Cancels the transfer unless it has completed, or switched to post-copy: as with QEMU, whose migrate_cancel
   * cannot take back a guest already running on the destination, the job then goes on to completion.
   */
  abort(): void {
    if (this.phase !== 'running' || isCompleted(this.model) || this.model.postcopy) return;
    this.fail(new LiveMigrationCancelled('live migration cancelled', { iterations: this.model.iterations }));
  }

  forceComplete(): void {
    if (this.phase !== 'running' || this.model.stage !== 'precopy' || this.model.paused) return;
    if (this.o.postCopyAllowed) {
      forceCompletion(this.model, 'postcopy');
      return;
    }
    forceCompletion(this.model, 'pause');
    this.pausedGuest = true;
    void this.effect(() => this.o.guest.pause()).catch(() => undefined);
  }
}
