// The contract for moving one disk file from this host to a destination host: a whole-file pass, then patches.
import type { ByteRange } from './byte-ranges';
import type { ProgressListener } from './progress';

/** One copy: the source file on this host and where it goes. */
export interface CopyRequest {
  /** Path of the file on this host. */
  readonly source: string;
  /** The destination host (a compute host name) and the file's path there. */
  readonly dest: { readonly host: string; readonly path: string };
  /**
   * Absent: copy the whole file (pass 1) into a temporary sibling of dest.path, renamed into place when complete.
   * Present: copy only these regions (pass 2) into the existing dest.path, in place.
   */
  readonly ranges?: readonly ByteRange[];
  /** Size of the source in bytes. Default: the size the file system reports for `source`. */
  readonly size?: number;
  /** Cancels the copy; it then rejects with TransferCancelled. */
  readonly signal?: AbortSignal;
  /**
   * Called at a bounded rate with the bytes covered so far, ending at the total: the regions of the source that hold
   * data (a whole-file copy reads nothing else), or the ranges.
   */
  readonly onProgress?: ProgressListener;
  /** Bytes per second the copy may send at most (holes skipped cost nothing); absent: as fast as it goes. */
  readonly maxBytesPerSecond?: number;
}

export interface CopyResult {
  /** Bytes the copy covered: the regions of the file that hold data (its holes are not read), or the ranges' length. */
  readonly total: number;
  /** Bytes actually written at the destination (holes of a sparse source are not written). */
  readonly bytes: number;
  readonly seconds: number;
}

/**
 * Moves the bytes of one file to another host. A whole-file copy skips all-zero blocks and leaves the
 * destination sparse; it never leaves a partial file at dest.path, whether it fails or is cancelled.
 */
export interface Transfer {
  /** Names the implementation in logs ("local", "ssh"). */
  readonly kind: string;
  copy(req: CopyRequest): Promise<CopyResult>;
}
