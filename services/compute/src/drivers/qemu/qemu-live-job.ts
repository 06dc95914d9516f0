// A live migration run by the source QEMU: disks mirrored into the destination's NBD exports until in sync (block
// migration), then RAM pre-copied by `migrate`, polled with `query-migrate` and steered (downtime, abort, force
// complete) over the VM's second QMP monitor, which the job holds alone so the driver's own monitor stays free.
import type { LiveMigrationJob, LiveMigrationJobStats } from '../live-migration';
import type { MigrationCookie } from '../../client/wire-types';
import { DriverError, LiveMigrationCancelled } from '../errors';
import type { QmpClient, QmpEvent } from './qmp';

export interface QemuJobOptions {
  uuid: string;
  host: string;
  /** The job's own monitor; closed when the job ends. */
  qmp: QmpClient;
  /** Where the destination QEMU waits (tcp:ADDR:PORT). */
  uri: string;
  /** Block migration: each drive is mirrored into the NBD export named by target before RAM moves. */
  mirrors: { drive: string; target: string }[];
  maxDowntimeMs: number;
  maxBandwidthBytes: number;
  autoConverge: boolean;
  postCopyAllowed: boolean;
  pollMs: number;
  /** What `done` resolves with, plus when the guest stopped here and the downtime QEMU measured. */
  cookie: MigrationCookie;
}

interface QueryMigrate {
  status?: string;
  'total-time'?: number;
  downtime?: number;
  'expected-downtime'?: number;
  'error-desc'?: string;
  ram?: { total: number; transferred: number; remaining: number; 'dirty-sync-count': number };
}

interface BlockJob {
  device: string;
  len: number;
  offset: number;
  ready: boolean;
  status?: string;
}

export class QemuLiveMigrationJob implements LiveMigrationJob {
  readonly done: Promise<MigrationCookie>;
  private current: LiveMigrationJobStats;
  private aborted = false;
  private pausedByUs = false;
  private postcopyEnabled = false;
  private stoppedAt?: number;
  /** Wakes the loop that follows the migration as soon as QEMU reports a change (its MIGRATION events). */
  private wake?: () => void;
  private readonly onEvent = (e: QmpEvent) => {
    if (e.event === 'STOP') this.stoppedAt ??= e.at;
    if (e.event === 'MIGRATION') this.wake?.();
  };

  constructor(private readonly o: QemuJobOptions) {
    this.current = {
      phase: 'running', memory_total: 0, memory_processed: 0, memory_remaining: 0, disk_total: 0, disk_processed: 0, disk_remaining: 0,
      iterations: 0, elapsed_ms: 0, expected_downtime_ms: 0, max_downtime_ms: o.maxDowntimeMs, postcopy: false, paused: false,
    };
    o.qmp.on('event', this.onEvent);
    this.done = this.run().finally(() => {
      o.qmp.off('event', this.onEvent);
      void o.qmp.close();
    });
    // The monitor reads `done` later; a failure is not unhandled meanwhile.
    this.done.catch(() => undefined);
  }

  stats(): LiveMigrationJobStats {
    return { ...this.current };
  }

  setMaxDowntime(ms: number): void {
    this.current.max_downtime_ms = ms;
    void this.o.qmp.execute('migrate-set-parameters', { 'downtime-limit': Math.round(ms) }).catch(() => undefined);
  }

  abort(): void {
    this.aborted = true;
    void this.o.qmp.execute('migrate_cancel').catch(() => undefined);
  }

  forceComplete(): void {
    if (this.postcopyEnabled) {
      void this.o.qmp.execute('migrate-start-postcopy').catch(() => this.pauseGuest());
      return;
    }
    this.pauseGuest();
  }

  private pauseGuest(): void {
    this.pausedByUs = true;
    this.current.paused = true;
    void this.o.qmp.execute('stop').catch(() => undefined);
  }

  private async run(): Promise<MigrationCookie> {
    const { qmp } = this.o;
    try {
      await this.configure();
      if (this.o.mirrors.length > 0) await this.mirrorUntilReady();
      if (this.aborted) throw this.cancelled();
      await qmp.execute('migrate', { uri: this.o.uri });
      const end = await this.followMigration();
      await this.completeMirrors();
      this.current.phase = 'completed';
      return { ...this.o.cookie, ...(this.stoppedAt !== undefined ? { stopped_at: this.stoppedAt } : {}), ...(end.downtime !== undefined ? { downtime_ms: end.downtime } : {}) };
    } catch (err) {
      this.current.phase = this.aborted ? 'cancelled' : 'failed';
      this.current.error = (err as Error).message;
      await this.cancelMirrors();
      if (this.pausedByUs) await qmp.execute('cont').catch(() => undefined);
      throw this.aborted && !(err instanceof LiveMigrationCancelled) ? this.cancelled() : err;
    }
  }

  private async configure(): Promise<void> {
    const caps = [
      { capability: 'events', state: true },
      { capability: 'auto-converge', state: this.o.autoConverge },
    ];
    await this.o.qmp.execute('migrate-set-capabilities', { capabilities: caps });
    if (this.o.postCopyAllowed && this.o.mirrors.length === 0) {
      // Post-copy needs userfaultfd on the destination; a host that lacks it migrates pre-copy only.
      this.postcopyEnabled = await this.o.qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'postcopy-ram', state: true }] })
        .then(() => true, () => false);
    }
    await this.o.qmp.execute('migrate-set-parameters', { 'downtime-limit': Math.round(this.o.maxDowntimeMs), 'max-bandwidth': this.o.maxBandwidthBytes });
  }

  /** Starts one mirror per drive (only the overlay's data: both hosts hold the same base) and waits until all are in sync. */
  private async mirrorUntilReady(): Promise<void> {
    for (const m of this.o.mirrors) {
      await this.o.qmp.execute('drive-mirror', { 'job-id': mirrorJobId(m.drive), device: m.drive, target: m.target, format: 'raw', sync: 'top', mode: 'existing' });
    }
    for (;;) {
      if (this.aborted) throw this.cancelled();
      const jobs = await this.mirrorJobs();
      if (jobs.length < this.o.mirrors.length) throw new DriverError(`a disk mirror of instance ${this.o.uuid} ended before it was in sync`, { instance_uuid: this.o.uuid });
      this.current.disk_total = sum(jobs.map((j) => j.len));
      this.current.disk_processed = sum(jobs.map((j) => j.offset));
      this.current.disk_remaining = this.current.disk_total - this.current.disk_processed;
      if (jobs.every((j) => j.ready)) return;
      await sleep(this.o.pollMs);
    }
  }

  private async followMigration(): Promise<QueryMigrate> {
    for (;;) {
      const m = await this.o.qmp.execute<QueryMigrate>('query-migrate');
      this.record(m);
      if (m.status === 'completed') return m;
      if (m.status === 'cancelled' || (this.aborted && m.status === 'failed')) throw this.cancelled();
      if (m.status === 'failed') {
        throw new DriverError(`live migration of instance ${this.o.uuid} from ${this.o.host} failed in QEMU: ${m['error-desc'] ?? 'no reason given'}`, { instance_uuid: this.o.uuid });
      }
      // The next look comes after the poll interval, or at once when QEMU's status changes (completion must not wait:
      // the guest is paused until the destination resumes it).
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.o.pollMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private record(m: QueryMigrate): void {
    const s = this.current;
    if (m.ram) {
      s.memory_total = m.ram.total;
      s.memory_processed = m.ram.transferred;
      s.memory_remaining = m.ram.remaining;
      s.iterations = m.ram['dirty-sync-count'];
    }
    s.elapsed_ms = m['total-time'] ?? s.elapsed_ms;
    s.expected_downtime_ms = m['expected-downtime'] ?? s.expected_downtime_ms;
    s.postcopy = s.postcopy || m.status === 'postcopy-active';
  }

  /** The guest is stopped here and its RAM is across: the mirrors, in sync, are ended without a pivot. */
  private async completeMirrors(): Promise<void> {
    if (this.o.mirrors.length === 0) return;
    for (const m of this.o.mirrors) await this.o.qmp.execute('block-job-cancel', { device: mirrorJobId(m.drive) });
    while ((await this.mirrorJobs()).length > 0) await sleep(10);
    this.current.disk_processed = this.current.disk_total;
    this.current.disk_remaining = 0;
  }

  private async cancelMirrors(): Promise<void> {
    if (this.o.mirrors.length === 0) return;
    for (const m of this.o.mirrors) await this.o.qmp.execute('block-job-cancel', { device: mirrorJobId(m.drive), force: true }).catch(() => undefined);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await this.mirrorJobs().catch(() => [])).length > 0) await sleep(20);
  }

  private async mirrorJobs(): Promise<BlockJob[]> {
    const ids = new Set(this.o.mirrors.map((m) => mirrorJobId(m.drive)));
    return (await this.o.qmp.execute<BlockJob[]>('query-block-jobs')).filter((j) => ids.has(j.device));
  }

  private cancelled(): LiveMigrationCancelled {
    return new LiveMigrationCancelled(`live migration of instance ${this.o.uuid} from ${this.o.host} was cancelled`, { instance_uuid: this.o.uuid });
  }
}

function mirrorJobId(drive: string): string {
  return `ferry-mirror-${drive}`;
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
