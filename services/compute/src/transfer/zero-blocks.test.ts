import { dataExtents } from './zero-blocks';

describe('data extents', () => {
  it('finds nothing in an all-zero buffer', () => {
    expect(dataExtents(Buffer.alloc(64 * 1024), 4096)).toEqual([]);
  });

  it('reports each block holding a non-zero byte, merging adjacent ones', () => {
    const buf = Buffer.alloc(10 * 4096);
    buf[0] = 1;
    buf[4096 + 4095] = 1;
    buf[5 * 4096 + 17] = 0xff;
    expect(dataExtents(buf, 4096)).toEqual([{ start: 0, end: 8192 }, { start: 5 * 4096, end: 6 * 4096 }]);
  });

  it('handles a short last block', () => {
    const buf = Buffer.alloc(4096 + 100);
    buf[4096 + 99] = 7;
    expect(dataExtents(buf, 4096)).toEqual([{ start: 4096, end: 4196 }]);
  });

  it('covers a buffer full of data with one extent', () => {
    expect(dataExtents(Buffer.alloc(3 * 4096, 0xab), 4096)).toEqual([{ start: 0, end: 3 * 4096 }]);
  });
});
