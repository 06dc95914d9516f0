// Keeps a bounded number of destination writes in flight, so reading the source overlaps with writing.
import type { DestinationFile } from './destination';

export class WriteWindow {
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly file: DestinationFile,
    private readonly limit: number,
  ) {}

  /**
   * Starts a write once fewer than `limit` are in flight; onWritten runs when it lands. Rethrows an earlier write's
   * failure (or onWritten's). Tracked writes never reject, so none is left unhandled.
   */
  async write(offset: number, data: Buffer, onWritten: (bytes: number) => void): Promise<void> {
    while (this.inFlight.size >= this.limit) await Promise.race(this.inFlight);
    this.throwIfFailed();
    const pending: Promise<void> = this.file
      .write(offset, data)
      .then(() => onWritten(data.length))
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => this.inFlight.delete(pending));
    this.inFlight.add(pending);
  }

  /** Waits for every write in flight; rethrows the first failure. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    this.throwIfFailed();
  }

  /** Waits for every write in flight, ignoring failures (before cleaning up after an error). */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }
}
