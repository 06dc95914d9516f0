// Writes a disk copy's progress into the migration record (and the instance's progress), latest value wins, one write
// at a time, and none when the figures have not changed since the last write.
import { recordCopyProgress, type CopyFigures } from '@ferry/common/db';
import type { ComputeContext } from '../compute-context';
import type { TransferProgress } from '../transfer';

/** Both passes count into one total: pass 1 covers the disk, pass 2 the changed regions. */
export class DiskProgressWriter {
  private pending: TransferProgress | undefined;
  private written: CopyFigures | undefined;
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
    if (!p || (this.written && sameFigures(this.written, p))) return;
    try {
      const figures = { total: p.total, processed: p.processed, remaining: p.remaining };
      await recordCopyProgress(this.c.ds, { migrationId: this.migrationId, whileStatus: 'migrating', instanceUuid: this.instanceUuid, whileTask: 'resize_migrating' }, figures);
      this.written = figures;
    } catch (err) {
      this.c.log.warn({ migration_id: this.migrationId, err: (err as Error).message }, 'cannot record copy progress');
    }
  }
}

function sameFigures(a: CopyFigures, b: CopyFigures): boolean {
  return a.total === b.total && a.processed === b.processed && a.remaining === b.remaining;
}
