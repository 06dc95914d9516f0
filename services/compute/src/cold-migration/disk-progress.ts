// Writes a disk copy's progress into the migration record (and the instance's progress) every WRITE_EVERY_MS at most,
// latest value wins, one write at a time, none when the figures have not changed since the last. A copy shorter than
// that writes none of its own: its last figures go with the step's next write (the hand-over), as a live migration's
// last figures go with the status write that ends its transfer.
import { recordCopyProgress, type CopyFigures } from '@ferry/common/db';
import type { ComputeContext } from '../compute-context';
import type { TransferProgress } from '../transfer';

/** The least time between two progress writes of one copy, and before its first. */
const WRITE_EVERY_MS = 500;

/** Both passes count into one total: pass 1 covers the disk, pass 2 the changed regions. */
export class DiskProgressWriter {
  private latest: CopyFigures | undefined;
  private written: CopyFigures | undefined;
  private lastWriteAt = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly c: ComputeContext, private readonly migrationId: number, private readonly instanceUuid: string) {}

  /** A progress listener for one pass, offsetting its figures by what earlier passes covered. */
  listener(before: { total: number; processed: number }): (p: TransferProgress) => void {
    return (p) => this.report({ total: before.total + p.total, processed: before.processed + p.processed, remaining: p.remaining });
  }

  report(p: CopyFigures): void {
    if (this.closed) return;
    this.latest = { total: p.total, processed: p.processed, remaining: p.remaining };
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.writing = this.writing.then(() => this.flush());
    }, Math.max(0, this.lastWriteAt + WRITE_EVERY_MS - Date.now()));
    // A copy keeps the process alive while it runs; a progress write alone must not.
    this.timer.unref();
  }

  /**
   * Writes no more. Resolves, once a write under way has landed, with the figures the caller's own next write should
   * carry: the latest, unless the last write already holds them.
   */
  async close(): Promise<CopyFigures | undefined> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.writing;
    const p = this.latest;
    return p && !(this.written && sameFigures(this.written, p)) ? p : undefined;
  }

  private async flush(): Promise<void> {
    const p = this.latest;
    if (this.closed || !p || (this.written && sameFigures(this.written, p))) return;
    this.lastWriteAt = Date.now();
    try {
      await recordCopyProgress(this.c.ds, { migrationId: this.migrationId, whileStatus: 'migrating', instanceUuid: this.instanceUuid, whileTask: 'resize_migrating' }, p);
      this.written = p;
    } catch (err) {
      this.c.log.warn({ migration_id: this.migrationId, err: (err as Error).message }, 'cannot record copy progress');
    }
  }
}

/** The record's columns for a copy's figures. */
export function diskColumns(p: CopyFigures): { disk_total: number; disk_processed: number; disk_remaining: number } {
  return { disk_total: p.total, disk_processed: p.processed, disk_remaining: p.remaining };
}

function sameFigures(a: CopyFigures, b: CopyFigures): boolean {
  return a.total === b.total && a.processed === b.processed && a.remaining === b.remaining;
}
