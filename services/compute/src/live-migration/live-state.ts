// What this host's live migrations keep in memory while they run as its source: the job handles abort and
// force-complete reach, the runs a stopping service waits for, the slots of max_concurrent_live_migrations and the
// waits for them. Owned by live-migration/; other flows only ask whether a migration runs here.
import { Slots } from '@ferry/common/service';
import type { LiveJobHandle } from './job-handle';

export class LiveMigrationsHere {
  /** Live migrations this host runs as the source from just before `running`, by migration id. */
  readonly jobs = new Map<number, LiveJobHandle>();
  /** Live migrations running beside the message consumer; stopping the service waits for them. */
  readonly runs = new Set<Promise<void>>();
  /** max_concurrent_live_migrations: a live migration holds a slot from Begin to Confirm. */
  readonly slots: Slots;
  /** Live migrations waiting in `queued` for a slot, by migration id: aborting one makes it leave the queue. */
  readonly slotWaits = new Map<number, AbortController>();

  constructor(maxConcurrent: number) {
    this.slots = new Slots(maxConcurrent);
  }

  /** Whether migration id runs (or is about to) here now. */
  running(id: number): boolean {
    return this.jobs.has(id);
  }
}
