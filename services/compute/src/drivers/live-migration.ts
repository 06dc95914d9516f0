// The driver side of a live migration: libvirt's v3 protocol (Begin, Prepare, Perform, Finish, Confirm), each phase
// taking and returning an opaque cookie, plus the running job the source's monitor watches and steers.
import type { GuestPresence, MigrationCookie } from '../client/wire-types';
import type { VmSpec } from './vm-spec';

/** How the transfer is asked to behave; the monitor changes some of it while the job runs. */
export interface LiveMigrationOptions {
  destHost: string;
  /** Copy the disks too (hosts without shared instance storage). */
  blockMigration: boolean;
  /** Downtime allowed at switch-over when the job starts, in ms (the monitor raises it step by step). */
  maxDowntimeMs: number;
  /** Let the hypervisor throttle the guest's CPUs when it does not converge. */
  autoConverge: boolean;
  /** Allow switching to post-copy (force-complete, or the timeout action). */
  postCopyAllowed: boolean;
  /** Bytes per second this migration may use at most (the host's own cap applies too). */
  bandwidthBytesPerSec?: number;
  /** Bytes per second the guest dirties its RAM (the fake's pre-copy model; real hypervisors measure it). */
  dirtyRateBytesPerSec?: number;
}

export type LiveMigrationJobPhase = 'running' | 'completed' | 'failed' | 'cancelled';

/** A snapshot of the running job, in Nova's migration record terms. */
export interface LiveMigrationJobStats {
  phase: LiveMigrationJobPhase;
  memory_total: number;
  memory_processed: number;
  memory_remaining: number;
  disk_total: number;
  disk_processed: number;
  disk_remaining: number;
  /** Pre-copy passes over RAM so far. */
  iterations: number;
  /**
   * Time the job has run, in ms, on the hypervisor's clock (QEMU's total-time; the fake driver's scaled time). The
   * monitor's downtime ramp and completion timeout count this, so a fake run scaled 100× faster ramps 100× faster.
   */
  elapsed_ms: number;
  /** The pause the switch-over would need now, in ms. */
  expected_downtime_ms: number;
  /** The downtime the job allows now, in ms. */
  max_downtime_ms: number;
  /** True once the job switched to post-copy (the guest runs on the destination). */
  postcopy: boolean;
  /** True when the guest was paused to force completion. */
  paused: boolean;
  /** When the job failed: why. */
  error?: string;
}

/** The transfer Perform started: the source's monitor polls it and steers it. */
export interface LiveMigrationJob {
  stats(): LiveMigrationJobStats;
  setMaxDowntime(ms: number): void;
  /** Cancels the transfer; `done` then rejects with LiveMigrationCancelled and the guest keeps running on the source. */
  abort(): void;
  /** Completes now: post-copy when permitted, else pause the guest so the remaining pages go at once. */
  forceComplete(): void;
  /** Resolves with the cookie for Finish once the guest's state is on the destination (the source guest is paused). */
  readonly done: Promise<MigrationCookie>;
}

/** What the five phases ask of a driver. */
export interface LiveMigrationDriver {
  /** Source, Begin: checks the VM can go and describes it for the destination. */
  liveMigrationBegin(uuid: string, opts: LiveMigrationOptions): Promise<MigrationCookie>;
  /** Destination, Prepare: starts an incoming VM that waits, paused, for the guest's state. */
  liveMigrationPrepare(spec: VmSpec, cookie: MigrationCookie, opts: { blockMigration: boolean }): Promise<MigrationCookie>;
  /** Source, Perform: starts the transfer to the incoming VM. */
  liveMigrationPerform(uuid: string, cookie: MigrationCookie, opts: LiveMigrationOptions): Promise<LiveMigrationJob>;
  /**
   * Destination, Finish. success: the VM takes over (CPUs resumed, or left paused when `paused`). failure: the
   * incoming VM is killed. Idempotent.
   */
  liveMigrationFinish(uuid: string, cookie: MigrationCookie, opts: { success: boolean; paused: boolean }): Promise<MigrationCookie>;
  /** Source, Confirm. success: the source VM is destroyed. failure: the source VM resumes (as it was). Idempotent. */
  liveMigrationConfirm(uuid: string, cookie: MigrationCookie, opts: { success: boolean; paused: boolean }): Promise<void>;
  /** Either side: what this host has of the guest now (read only, so safe to ask any number of times). */
  guestPresence(uuid: string): Promise<GuestPresence>;
}
