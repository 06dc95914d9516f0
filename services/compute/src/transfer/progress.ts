// Reports a copy's progress at a bounded rate: monotonic, always starting at 0 and ending at the total.

/** How far a copy is, in bytes: the shape of a migration's disk_total / disk_processed / disk_remaining. */
export interface TransferProgress {
  readonly total: number;
  readonly processed: number;
  readonly remaining: number;
}

export type ProgressListener = (progress: TransferProgress) => void;

export class ProgressMeter {
  private processed = 0;
  private lastReportedAt = -Infinity;
  private lastReported = -1;

  constructor(
    readonly total: number,
    private readonly listener: ProgressListener | undefined,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get done(): number {
    return this.processed;
  }

  /** Reports 0 of total. */
  start(): void {
    this.report();
  }

  /** Counts bytes as processed; reports when the last report is at least intervalMs old. */
  advance(bytes: number): void {
    this.processed = Math.min(this.total, this.processed + bytes);
    if (this.now() - this.lastReportedAt >= this.intervalMs) this.report();
  }

  /** Reports the end (processed = total) unless that was the last report. */
  finish(): void {
    this.processed = this.total;
    if (this.lastReported !== this.total) this.report();
  }

  private report(): void {
    this.lastReportedAt = this.now();
    this.lastReported = this.processed;
    this.listener?.({ total: this.total, processed: this.processed, remaining: this.total - this.processed });
  }
}
