// Byte ranges of a disk: the regions a second pass copies, merged, block-aligned, clamped and summed.
import { InvalidInput } from '@ferry/common/domain';

/** `length` bytes starting at `offset`. */
export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

function check(range: ByteRange): void {
  const ok = Number.isSafeInteger(range.offset) && Number.isSafeInteger(range.length) && range.offset >= 0 && range.length >= 0;
  if (!ok) throw new InvalidInput(`invalid byte range ${JSON.stringify(range)}: offset and length must be non-negative integers`);
}

/**
 * The union of ranges as sorted ranges that neither overlap nor touch, without empty ones: the canonical form
 * every other helper returns, so a region written twice is copied once.
 */
export function normalizeRanges(ranges: Iterable<ByteRange>): ByteRange[] {
  const sorted = [...ranges].map((r) => (check(r), r)).filter((r) => r.length > 0).sort((a, b) => a.offset - b.offset);
  const merged: { offset: number; end: number }[] = [];
  for (const r of sorted) {
    const last = merged[merged.length - 1];
    const end = r.offset + r.length;
    if (last && r.offset <= last.end) last.end = Math.max(last.end, end);
    else merged.push({ offset: r.offset, end });
  }
  return merged.map((m) => ({ offset: m.offset, length: m.end - m.offset }));
}

/** Ranges cut to [0, size): what of them exists in a file of that size. */
export function clampRanges(ranges: Iterable<ByteRange>, size: number): ByteRange[] {
  return normalizeRanges(ranges)
    .filter((r) => r.offset < size)
    .map((r) => ({ offset: r.offset, length: Math.min(r.length, size - r.offset) }));
}

/**
 * Ranges widened to whole blocks (start rounded down, end up), then clamped to `size` when given. Dirty
 * tracking works in blocks; copying whole blocks keeps writes aligned with the file system's.
 */
export function alignRanges(ranges: Iterable<ByteRange>, blockSize: number, size?: number): ByteRange[] {
  if (!Number.isSafeInteger(blockSize) || blockSize <= 0) throw new InvalidInput(`block size must be a positive integer, got ${blockSize}`);
  const widened = normalizeRanges(ranges).map((r) => {
    const start = Math.floor(r.offset / blockSize) * blockSize;
    const end = Math.ceil((r.offset + r.length) / blockSize) * blockSize;
    return { offset: start, length: end - start };
  });
  return size === undefined ? normalizeRanges(widened) : clampRanges(widened, size);
}

/** The ranges covering the given block numbers (a dirty bitmap's set bits), merged where blocks are adjacent. */
export function rangesFromBlocks(blocks: Iterable<number>, blockSize: number): ByteRange[] {
  if (!Number.isSafeInteger(blockSize) || blockSize <= 0) throw new InvalidInput(`block size must be a positive integer, got ${blockSize}`);
  return normalizeRanges([...blocks].map((b) => ({ offset: b * blockSize, length: blockSize })));
}

/** Total bytes the ranges cover (overlaps counted once). */
export function totalLength(ranges: Iterable<ByteRange>): number {
  return normalizeRanges(ranges).reduce((sum, r) => sum + r.length, 0);
}

/** The ranges cut into consecutive pieces of at most maxLength bytes, in order. */
export function* splitRanges(ranges: Iterable<ByteRange>, maxLength: number): Generator<ByteRange> {
  for (const r of ranges) {
    for (let at = r.offset; at < r.offset + r.length; at += maxLength) {
      yield { offset: at, length: Math.min(maxLength, r.offset + r.length - at) };
    }
  }
}

/** What lies in both sets of ranges, normalized (a dirty region cut to the parts of a file that hold data). */
export function intersectRanges(a: Iterable<ByteRange>, b: Iterable<ByteRange>): ByteRange[] {
  const [xs, ys] = [normalizeRanges(a), normalizeRanges(b)];
  const out: ByteRange[] = [];
  for (let i = 0, j = 0; i < xs.length && j < ys.length;) {
    const [x, y] = [xs[i], ys[j]];
    const start = Math.max(x.offset, y.offset);
    const end = Math.min(x.offset + x.length, y.offset + y.length);
    if (start < end) out.push({ offset: start, length: end - start });
    if (x.offset + x.length <= y.offset + y.length) i++;
    else j++;
  }
  return out;
}
