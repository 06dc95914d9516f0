// What abort and force-complete reach on the source: registered before the record says `running`, so a request that
// arrives while Perform is still creating the driver's job is kept and applied the moment the job exists.
import type { LiveMigrationJob } from '../drivers';

export class LiveJobHandle {
  private job: LiveMigrationJob | undefined;
  private wanted: 'abort' | 'force_complete' | undefined;

  /** Hands over the driver's job, applying what was asked before it existed. */
  attach(job: LiveMigrationJob): void {
    this.job = job;
    if (this.wanted === 'abort') job.abort();
    else if (this.wanted === 'force_complete') job.forceComplete();
  }

  abort(): void {
    this.wanted = 'abort';
    this.job?.abort();
  }

  /** An abort asked for earlier wins over a later force-complete. */
  forceComplete(): void {
    if (this.wanted === 'abort') return;
    this.wanted = 'force_complete';
    this.job?.forceComplete();
  }
}
