import { alignRanges, clampRanges, intersectRanges, normalizeRanges, rangesFromBlocks, splitRanges, totalLength } from './byte-ranges';

const r = (offset: number, length: number) => ({ offset, length });

describe('byte ranges', () => {
  it('merges overlapping and touching ranges, sorts them and drops empty ones', () => {
    expect(normalizeRanges([r(100, 10), r(0, 10), r(10, 5), r(105, 20), r(50, 0), r(200, 1)])).toEqual([r(0, 15), r(100, 25), r(200, 1)]);
  });

  it('keeps ranges apart when a gap separates them', () => {
    expect(normalizeRanges([r(0, 10), r(11, 10)])).toEqual([r(0, 10), r(11, 10)]);
  });

  it('swallows a range contained in another', () => {
    expect(normalizeRanges([r(0, 100), r(10, 5)])).toEqual([r(0, 100)]);
  });

  it('refuses negative or fractional offsets and lengths', () => {
    expect(() => normalizeRanges([r(-1, 10)])).toThrow(expect.objectContaining({ code: 'InvalidInput' }));
    expect(() => normalizeRanges([r(0, 1.5)])).toThrow(expect.objectContaining({ code: 'InvalidInput' }));
  });

  it('intersects two sets of ranges: only what both cover, whatever their order and overlaps', () => {
    expect(intersectRanges([r(0, 100), r(200, 100)], [r(50, 200), r(290, 5), r(400, 10)])).toEqual([r(50, 50), r(200, 50), r(290, 5)]);
    expect(intersectRanges([r(10, 5), r(0, 10)], [r(0, 15)])).toEqual([r(0, 15)]);
    expect(intersectRanges([r(0, 10)], [r(10, 10)])).toEqual([]);
    expect(intersectRanges([], [r(0, 10)])).toEqual([]);
  });

  it('clamps to a file size, dropping what lies beyond it', () => {
    expect(clampRanges([r(0, 10), r(95, 10), r(100, 5)], 100)).toEqual([r(0, 10), r(95, 5)]);
  });

  it('aligns to whole blocks, merging blocks that end up adjacent', () => {
    expect(alignRanges([r(1, 1), r(4095, 2), r(10_000, 1), r(20_000, 1)], 4096)).toEqual([r(0, 12_288), r(16_384, 4096)]);
  });

  it('aligns, then clamps the last block to the file size', () => {
    expect(alignRanges([r(9000, 10)], 4096, 10_000)).toEqual([r(8192, 10_000 - 8192)]);
  });

  it('refuses a block size that is not a positive integer', () => {
    expect(() => alignRanges([r(0, 1)], 0)).toThrow(expect.objectContaining({ code: 'InvalidInput' }));
    expect(() => rangesFromBlocks([1], -4)).toThrow(expect.objectContaining({ code: 'InvalidInput' }));
  });

  it('turns dirty block numbers into merged ranges', () => {
    expect(rangesFromBlocks([7, 2, 3, 4, 9, 3], 512)).toEqual([r(1024, 1536), r(3584, 512), r(4608, 512)]);
  });

  it('sums lengths counting overlaps once', () => {
    expect(totalLength([r(0, 10), r(5, 10), r(100, 1)])).toBe(16);
    expect(totalLength([])).toBe(0);
  });

  it('splits ranges into pieces of at most a given length, in order', () => {
    expect([...splitRanges([r(0, 10), r(20, 3)], 4)]).toEqual([r(0, 4), r(4, 4), r(8, 2), r(20, 3)]);
  });
});
