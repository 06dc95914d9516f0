// The destination's file system when it is this machine's: plain positional writes through node:fs.
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TransferFailed } from '../errors';
import type { Destination, DestinationFile } from '../destination';

class LocalFile implements DestinationFile {
  constructor(private readonly handle: FileHandle) {}

  async write(offset: number, data: Buffer): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.handle.write(data, done, data.length - done, offset + done);
      done += bytesWritten;
    }
  }

  async close(opts: { sync: boolean }): Promise<void> {
    try {
      if (opts.sync) await this.handle.sync();
    } finally {
      await this.handle.close();
    }
  }
}

export class LocalDestination implements Destination {
  async create(path: string, size: number): Promise<DestinationFile> {
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(path, 'w');
    await handle.truncate(size).catch(async (err: unknown) => {
      await handle.close();
      throw err;
    });
    return new LocalFile(handle);
  }

  async openExisting(path: string, size: number): Promise<DestinationFile> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r+');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      throw TransferFailed.because(`cannot patch ${path}`, 'it does not exist (a ranged copy patches the file a whole-file copy made)', { dest_path: path });
    }
    try {
      if ((await handle.stat()).size !== size) await handle.truncate(size);
    } catch (err) {
      await handle.close();
      throw err;
    }
    return new LocalFile(handle);
  }

  rename(from: string, to: string): Promise<void> {
    return rename(from, to);
  }

  remove(path: string): Promise<void> {
    return rm(path, { force: true });
  }
}
