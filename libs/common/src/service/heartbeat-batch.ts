// One timer and one statement per interval renew the leases of every service a process runs on one database, so a
// process serving a thousand fake hosts writes one heartbeat per interval, not a thousand.
import type { DataSource } from 'typeorm';
import { renewServiceLeases, type LeaseRenewal } from '../db';
import { countLivenessWrite } from '../metrics';

/** A service in the batch: what to renew, and what to do with the outcome of each beat. */
export interface BatchedBeat {
  renewal: LeaseRenewal;
  /** The beat renewed the lease. */
  renewed(): void;
  /**
   * The batch statement did not renew it (lease taken, row deleted, or row locked by another transaction): the
   * service checks alone, in the background, and sits out the batch's beats until it knows.
   */
  missed(): Promise<void>;
  /** The statement failed (the database is unreachable): nobody's lease was renewed. */
  failed(err: Error): void;
}

export class HeartbeatBatch {
  private static readonly batches = new WeakMap<DataSource, Map<number, HeartbeatBatch>>();
  private readonly members = new Set<BatchedBeat>();
  /** Members checking alone after a missed beat: a row locked elsewhere stalls only its own service. */
  private readonly alone = new Map<BatchedBeat, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;

  private constructor(private readonly ds: DataSource, private readonly intervalMs: number) {}

  /** The batch of every service on ds beating every intervalMs. */
  static of(ds: DataSource, intervalMs: number): HeartbeatBatch {
    let byInterval = HeartbeatBatch.batches.get(ds);
    if (!byInterval) HeartbeatBatch.batches.set(ds, (byInterval = new Map()));
    let batch = byInterval.get(intervalMs);
    if (!batch) byInterval.set(intervalMs, (batch = new HeartbeatBatch(ds, intervalMs)));
    return batch;
  }

  get size(): number {
    return this.members.size;
  }

  /** Adds a service to the next beats; the timer runs while the batch has members. */
  join(member: BatchedBeat): void {
    this.members.add(member);
    if (!this.timer) {
      // One beat at a time: a slow database must not pile renewals up.
      this.timer = setInterval(() => { this.beating ??= this.beat().finally(() => { this.beating = undefined; }); }, this.intervalMs);
      this.timer.unref();
    }
  }

  /** Takes a service out of the batch; resolves once a beat in flight (which may still renew it) has finished. */
  async leave(member: BatchedBeat): Promise<void> {
    this.members.delete(member);
    if (this.members.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    await Promise.all([this.beating, this.alone.get(member)]);
  }

  private async beat(): Promise<void> {
    const members = [...this.members].filter((m) => !this.alone.has(m));
    if (members.length === 0) return;
    let renewed: Set<string>;
    try {
      renewed = await renewServiceLeases(this.ds, members.map((m) => m.renewal));
      countLivenessWrite('heartbeat');
    } catch (err) {
      for (const m of members) m.failed(err as Error);
      return;
    }
    for (const m of members) {
      if (renewed.has(m.renewal.owner)) m.renewed();
      else this.alone.set(m, m.missed().finally(() => this.alone.delete(m)));
    }
  }
}
