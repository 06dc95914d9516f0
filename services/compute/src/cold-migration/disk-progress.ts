// Writes a disk copy's progress into the migration record (and the instance's progress), latest value wins, one write at a time.
import { patchMigration } from '@ferry/common/db';
import { Instance } from '@ferry/common/db';
import type { ComputeContext } from '../compute-context';
import type { TransferProgress } from '../transfer';

/** Both passes count into one total: pass 1 covers the disk, pass 2 the changed regions. */
export class DiskProgressWriter {
  private pending: TransferProgress | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly c: ComputeContext, private readonly migrationId: number, private readonly instanceUuid: string) {}

  /** A progress listener for one pass, offsetting its figures by what earlier passes covered. */
  listener(before: { total: number; processed: number }): (p: TransferProgress) => void {
    return (p) => this.report({ total: before.total + p.total, processed: before.processed + p.processed, remaining: p.remaining });
  }

  report(p: TransferProgress): void {
    const idle = this.pending === undefined;
    this.pending = p;
    if (idle) this.writing = this.writing.then(() => this.flush());
  }

  /** Resolves once the last reported value is written. */
  async settled(): Promise<void> {
    await this.writing;
  }

  private async flush(): Promise<void> {
    const p = this.pending;
    this.pending = undefined;
    if (!p) return;
    try {
      await patchMigration(this.c.ds, this.migrationId, ['migrating'], { disk_total: p.total, disk_processed: p.processed, disk_remaining: p.remaining });
      const percent = p.total === 0 ? 100 : Math.floor((100 * p.processed) / p.total);
      await this.c.ds.getRepository(Instance).update({ uuid: this.instanceUuid, task_state: 'resize_migrating' }, { progress: percent });
    } catch (err) {
      this.c.log.warn({ migration_id: this.migrationId, err: (err as Error).message }, 'cannot record copy progress');
    }
  }
}
