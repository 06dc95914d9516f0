// The guest inside a fake VM: writes random blocks into its disk while the disk is tracked, and the dirty
// trackers recording where it wrote (what the second pass of a cold migration copies again).
import { randomBytes, randomInt } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { normalizeRanges, type ByteRange } from '../../transfer/byte-ranges';
import type { DirtyTracker } from '../driver';
import { readVmRecord } from './vm-files';

/** How often the guest writes: short enough for a smooth rate and a quick stop, long enough to cost nothing. */
const TICK_MS = 25;
/** How far the guest may fall behind its rate (a stalled event loop, a slow disk) and still catch up. */
const MAX_CATCH_UP_SECONDS = 0.25;

export interface GuestWriteOptions {
  /** Bytes per second while the VM runs; 0 keeps the guest idle. */
  rate: number;
  /** Size and alignment of each write. */
  blockSize: number;
  /** Bytes one tracking session writes at most (Infinity: no cap). */
  limit: number;
}

/** A DirtyTracker of the fake driver, with what tests and benchmarks need on top of the interface. */
export class FakeDirtyTracker implements DirtyTracker {
  private recorded: ByteRange[] = [];
  private recording = true;
  private written = 0;
  private closed?: Promise<void>;

  constructor(private readonly detach: (tracker: FakeDirtyTracker) => Promise<void>) {}

  /** Bytes the guest wrote while this tracker recorded (regions written twice count twice). */
  get bytesWritten(): number {
    return this.written;
  }

  /** Called by the guest as it issues a write, before the write can land. */
  record(range: ByteRange): void {
    if (!this.recording) return;
    this.recorded.push(range);
    this.written += range.length;
  }

  ranges(): ByteRange[] {
    // Kept normalized so a long session holds one entry per dirty region rather than one per write.
    this.recorded = normalizeRanges(this.recorded);
    return [...this.recorded];
  }

  stop(): void {
    void this.close();
  }

  /**
   * stop(), then waits until the guest's write in flight (issued, and recorded, before the stop) has landed and,
   * when no other tracker keeps the guest writing, its disk is closed. Idempotent.
   */
  close(): Promise<void> {
    this.recording = false;
    this.closed ??= this.detach(this);
    return this.closed;
  }
}

/**
 * The writer of one VM. It writes only while a tracker records and the state file says running, and holds
 * still during power operations (fenced) so that one resolving means no write of the guest is left to land.
 */
export class SimulatedGuest {
  private readonly trackers = new Set<FakeDirtyTracker>();
  /** Bumped when a power operation starts and ends: a state read before a bump may be stale. */
  private generation = 0;
  private fences = 0;
  private inFlight: Promise<void> = Promise.resolve();
  /** The current writing session; a new one starts only after the last closed the disk. */
  private session = 0;
  private sessionDone: Promise<void> = Promise.resolve();
  private gone = false;

  constructor(
    private readonly vmDir: string,
    private readonly diskPath: string,
    private readonly opts: GuestWriteOptions,
  ) {}

  track(): FakeDirtyTracker {
    const tracker = new FakeDirtyTracker((t) => this.detach(t));
    this.trackers.add(tracker);
    if (this.trackers.size === 1 && this.opts.rate > 0 && !this.gone) this.startSession();
    return tracker;
  }

  /** Runs a power operation with the guest held still: nothing in flight when op starts, nothing issued during it. */
  async fenced<T>(op: () => Promise<T>): Promise<T> {
    this.fences++;
    this.generation++;
    try {
      await this.inFlight;
      return await op();
    } finally {
      this.fences--;
      this.generation++;
    }
  }

  /** Stops the guest for good (its VM is being destroyed) once its last write has landed and its disk is closed. */
  async dispose(): Promise<void> {
    this.gone = true;
    this.trackers.clear();
    await this.inFlight;
    await this.sessionDone;
  }

  private detach(tracker: FakeDirtyTracker): Promise<void> {
    this.trackers.delete(tracker);
    return this.trackers.size === 0 ? this.sessionDone : this.inFlight;
  }

  private startSession(): void {
    const session = ++this.session;
    // A guest that cannot write its disk (gone behind the driver's back) just stops; trackers keep what they have.
    this.sessionDone = this.sessionDone.then(() => this.run(session)).catch(() => undefined);
  }

  private live(session: number): boolean {
    return !this.gone && this.session === session && this.trackers.size > 0;
  }

  private async run(session: number): Promise<void> {
    if (!this.live(session)) return;
    const disk = await open(this.diskPath, 'r+');
    try {
      await this.writeLoop(disk, session);
    } finally {
      await this.inFlight;
      await disk.close();
    }
  }

  /** Accrues rate × elapsed time as a budget and spends it in whole blocks while the VM runs. */
  private async writeLoop(disk: FileHandle, session: number): Promise<void> {
    const { rate, blockSize, limit } = this.opts;
    const maxBudget = Math.max(blockSize, rate * MAX_CATCH_UP_SECONDS);
    let budget = 0;
    let total = 0;
    let last = performance.now();
    while (this.live(session) && total < limit) {
      await sleep(TICK_MS);
      const now = performance.now();
      budget = Math.min(maxBudget, budget + (rate * (now - last)) / 1000);
      last = now;
      const due = Math.min(Math.floor(budget / blockSize) * blockSize, limit - total);
      if (due <= 0) continue;
      const written = await this.tick(disk, session, due);
      // A VM that is not running accrues nothing: its guest does not catch up once it runs again.
      budget = written === undefined ? 0 : budget - written;
      total += written ?? 0;
    }
  }

  /** Writes `due` bytes in random blocks when the VM runs; the bytes written, or undefined when it does not run. */
  private async tick(disk: FileHandle, session: number, due: number): Promise<number | undefined> {
    const generation = this.generation;
    if (!(await this.running())) return undefined;
    const { size } = await disk.stat();
    let written = 0;
    while (written < due) {
      // Checked right before issuing, with no await in between: a fence or stop that began is always seen.
      if (!this.live(session) || this.fences > 0 || this.generation !== generation) break;
      const range = randomBlock(size, this.opts.blockSize, due - written);
      if (!range) break;
      for (const tracker of this.trackers) tracker.record(range);
      const write = disk.write(randomBytes(range.length), 0, range.length, range.offset);
      this.inFlight = write.then(() => undefined, () => undefined);
      await write;
      written += range.length;
    }
    return written;
  }

  private async running(): Promise<boolean> {
    try {
      return (await readVmRecord(this.vmDir))?.state === 'running';
    } catch {
      return false;
    }
  }
}

/** A block-aligned range of at most `length` bytes at a random block of a disk of `size` bytes, never past its end. */
function randomBlock(size: number, blockSize: number, length: number): ByteRange | undefined {
  if (size <= 0) return undefined;
  const offset = randomInt(Math.ceil(size / blockSize)) * blockSize;
  return { offset, length: Math.min(length, blockSize, size - offset) };
}

/** A pause that never keeps the process alive. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
