import type { DestinationFile } from './destination';
import { WriteWindow } from './write-window';

/** A destination file whose writes finish when the test says. */
function gatedFile() {
  const pending: { offset: number; finish: (err?: Error) => void }[] = [];
  const file: DestinationFile = {
    write: (offset) => new Promise<void>((resolve, reject) => pending.push({ offset, finish: (err) => (err ? reject(err) : resolve()) })),
    close: async () => undefined,
  };
  return { file, pending };
}
const flush = () => new Promise((r) => setImmediate(r));

describe('write window', () => {
  it('keeps at most `limit` writes in flight', async () => {
    const { file, pending } = gatedFile();
    const window = new WriteWindow(file, 2);
    const landed: number[] = [];
    await window.write(0, Buffer.alloc(1), (n) => landed.push(n));
    await window.write(1, Buffer.alloc(2), (n) => landed.push(n));
    let third = false;
    const writing = window.write(2, Buffer.alloc(3), () => undefined).then(() => (third = true));
    await flush();
    expect([pending.length, third]).toEqual([2, false]);
    pending[0].finish();
    await writing;
    expect([pending.length, landed]).toEqual([3, [1]]);
    pending[1].finish();
    pending[2].finish();
    await window.drain();
    expect(landed).toEqual([1, 2]);
  });

  it('rethrows a failed write on the next write and on drain', async () => {
    const { file, pending } = gatedFile();
    const window = new WriteWindow(file, 1);
    await window.write(0, Buffer.alloc(1), () => undefined);
    pending[0].finish(new Error('disk full'));
    await expect(window.write(1, Buffer.alloc(1), () => undefined)).rejects.toThrow('disk full');
    await expect(window.drain()).rejects.toThrow('disk full');
  });

  it('turns a throwing onWritten into the window\'s failure, not an unhandled rejection', async () => {
    const { file, pending } = gatedFile();
    const window = new WriteWindow(file, 4);
    await window.write(0, Buffer.alloc(1), () => {
      throw new Error('listener broke');
    });
    pending[0].finish();
    await expect(window.drain()).rejects.toThrow('listener broke');
  });

  it('settles without throwing', async () => {
    const { file, pending } = gatedFile();
    const window = new WriteWindow(file, 4);
    await window.write(0, Buffer.alloc(1), () => undefined);
    pending[0].finish(new Error('gone'));
    await expect(window.settle()).resolves.toBeUndefined();
  });
});
