// One copy of a disk file into a Destination: pass 1 (whole file, holes skipped, renamed into place) or pass 2 (ranges,
// in place, holes of the source written as zeros without being read).
import { open, type FileHandle } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { FerryError, InvalidInput } from '@ferry/common/domain';
import type { CopyTuning } from './copy-tuning';
import { allocatedRanges } from './allocated-ranges';
import { clampRanges, intersectRanges, splitRanges, totalLength, type ByteRange } from './byte-ranges';
import { partPathFor, type Destination } from './destination';
import { TransferCancelled, TransferFailed } from './errors';
import { Pacer } from './pace';
import { ProgressMeter } from './progress';
import type { CopyRequest, CopyResult } from './transfer';
import { WriteWindow } from './write-window';
import { dataExtents } from './zero-blocks';

/** State of one copy in progress. */
interface CopyRun {
  readonly req: CopyRequest;
  readonly tuning: CopyTuning;
  readonly source: FileHandle;
  readonly meter: ProgressMeter;
  readonly pacer: Pacer;
  written: number;
}

export async function copyToDestination(dest: Destination, req: CopyRequest, tuning: CopyTuning): Promise<CopyResult> {
  const started = performance.now();
  throwIfCancelled(req);
  if (req.size !== undefined && !(Number.isSafeInteger(req.size) && req.size >= 0)) {
    throw new InvalidInput(`copy of ${req.source}: size must be a non-negative integer, got ${req.size}`);
  }
  if (req.maxBytesPerSecond !== undefined && !(req.maxBytesPerSecond > 0 && Number.isFinite(req.maxBytesPerSecond))) {
    throw new InvalidInput(`copy of ${req.source}: maxBytesPerSecond must be a positive number, got ${req.maxBytesPerSecond}`);
  }
  const source = await open(req.source, 'r').catch((err: unknown) => {
    throw TransferFailed.because(`cannot read ${req.source}`, err, { source: req.source });
  });
  try {
    const size = req.size ?? (await source.stat()).size;
    const ranges = req.ranges && clampRanges(req.ranges, size);
    // Where the source holds data (SEEK_DATA/SEEK_HOLE); unknown, all of it may.
    const allocated = clampRanges((await allocatedRanges(req.source)) ?? [{ offset: 0, length: size }], size);
    // The total is what the copy moves: the ranges of a pass 2, the allocated regions of a whole-file copy.
    const meter = new ProgressMeter(totalLength(ranges ?? allocated), req.onProgress, tuning.progressIntervalMs);
    const run: CopyRun = { req, tuning, source, meter, pacer: new Pacer(req.maxBytesPerSecond, req.signal), written: 0 };
    meter.start();
    if (ranges) await patchRanges(dest, run, size, ranges, allocated);
    else await copyWholeFile(dest, run, size, allocated);
    meter.finish();
    return { total: meter.total, bytes: run.written, seconds: (performance.now() - started) / 1000 };
  } catch (err) {
    throw asTransferError(err, req);
  } finally {
    await source.close();
  }
}

/**
 * Pass 1: data blocks only, into the part file, which replaces dest.path once complete. Only the regions the source's
 * filesystem says hold data are read (a sparse disk's holes are skipped, not read as zeros); within them, blocks of
 * zeros are not written either.
 */
async function copyWholeFile(dest: Destination, run: CopyRun, size: number, allocated: readonly ByteRange[]): Promise<void> {
  const part = partPathFor(run.req.dest.path);
  const file = await dest.create(part, size);
  const window = new WriteWindow(file, run.tuning.writeConcurrency);
  try {
    for (const piece of splitRanges(allocated, run.tuning.readLength)) {
      throwIfCancelled(run.req);
      const chunk = await readAt(run.source, piece.offset, piece.length);
      let data = 0;
      for (const extent of dataExtents(chunk, run.tuning.blockSize)) {
        data += extent.end - extent.start;
        await writePieces(window, run, piece.offset + extent.start, chunk.subarray(extent.start, extent.end), run.tuning.maxWriteLength);
      }
      run.meter.advance(chunk.length - data);
      await run.pacer.account(data);
    }
    await window.drain();
    await file.close({ sync: run.tuning.sync });
    await dest.rename(part, run.req.dest.path);
  } catch (err) {
    await window.settle();
    await file.close({ sync: false }).catch(() => undefined);
    await dest.remove(part).catch(() => undefined);
    throw err;
  }
}

/**
 * Pass 2: every byte of the ranges, zeros included (a region the guest zeroed must be zeroed at the destination
 * too), written over the existing file. Of each piece only what the source holds is read; its holes are zeros
 * without a read. Cancelled or failed, the file is left part-patched: only a completed pass 2 makes it a faithful
 * copy, and the migration does not start the instance from it before that.
 */
async function patchRanges(dest: Destination, run: CopyRun, size: number, ranges: ByteRange[], allocated: readonly ByteRange[]): Promise<void> {
  const file = await dest.openExisting(run.req.dest.path, size);
  const window = new WriteWindow(file, run.tuning.writeConcurrency);
  // The parts of the ranges the source holds, in order; `next` is the first that may still reach the current piece.
  const held = intersectRanges(ranges, allocated);
  let next = 0;
  try {
    for (const piece of splitRanges(ranges, run.tuning.readLength)) {
      throwIfCancelled(run.req);
      while (next < held.length && held[next].offset + held[next].length <= piece.offset) next++;
      const chunk = await readHeld(run.source, piece, held, next);
      await writePieces(window, run, piece.offset, chunk, run.tuning.maxWriteLength);
      await run.pacer.account(chunk.length);
    }
    await window.drain();
    await file.close({ sync: run.tuning.sync });
  } catch (err) {
    await window.settle();
    await file.close({ sync: false }).catch(() => undefined);
    throw err;
  }
}

/** The bytes of piece: the parts of it in held (sorted, from index `from` on) read from the source, the rest zeros. */
async function readHeld(source: FileHandle, piece: ByteRange, held: readonly ByteRange[], from: number): Promise<Buffer> {
  const end = piece.offset + piece.length;
  const first = held[from];
  if (first && first.offset <= piece.offset && first.offset + first.length >= end) return readAt(source, piece.offset, piece.length);
  const buf = Buffer.alloc(piece.length);
  for (let i = from; i < held.length && held[i].offset < end; i++) {
    const start = Math.max(held[i].offset, piece.offset);
    const stop = Math.min(held[i].offset + held[i].length, end);
    (await readAt(source, start, stop - start)).copy(buf, start - piece.offset);
  }
  return buf;
}

async function writePieces(window: WriteWindow, run: CopyRun, offset: number, data: Buffer, maxLength: number): Promise<void> {
  for (let at = 0; at < data.length; at += maxLength) {
    await window.write(offset + at, data.subarray(at, at + maxLength), (bytes) => {
      run.written += bytes;
      run.meter.advance(bytes);
    });
  }
}

/** length bytes at offset; past the end of the file reads as zeros (a hole), as it would on a block device. */
async function readAt(source: FileHandle, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await source.read(buf, filled, length - filled, offset + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  buf.fill(0, filled);
  return buf;
}

/** Throws TransferCancelled once the request's signal has fired. */
export function throwIfCancelled(req: CopyRequest): void {
  if (req.signal?.aborted) {
    throw new TransferCancelled(`copy of ${req.source} to ${req.dest.host}:${req.dest.path} was cancelled`, {
      source: req.source, dest_host: req.dest.host, dest_path: req.dest.path,
    });
  }
}

function asTransferError(err: unknown, req: CopyRequest): FerryError {
  if (err instanceof FerryError) return err;
  return TransferFailed.because(`copy of ${req.source} to ${req.dest.host}:${req.dest.path} failed`, err, {
    source: req.source, dest_host: req.dest.host, dest_path: req.dest.path,
  });
}
