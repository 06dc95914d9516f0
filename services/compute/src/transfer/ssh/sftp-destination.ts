// The destination's file system over SFTP: positional writes, truncate, rename and unlink are all in the protocol.
import { posix } from 'node:path';
import type { SFTPWrapper } from 'ssh2';
import type { Destination, DestinationFile } from '../destination';
import { TransferFailed } from '../errors';

/** SSH_FX_NO_SUCH_FILE */
const NO_SUCH_FILE = 2;

const isMissing = (err: unknown) => (err as { code?: unknown }).code === NO_SUCH_FILE;

/** Runs one SFTP request; rejects with the server's status. */
function request<T = void>(start: (cb: (err: Error | undefined | null, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    try {
      start((err, value) => (err ? reject(err) : resolve(value as T)));
    } catch (err) {
      reject(err);
    }
  });
}

class SftpFile implements DestinationFile {
  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly handle: Buffer,
  ) {}

  write(offset: number, data: Buffer): Promise<void> {
    return request((cb) => this.sftp.write(this.handle, data, 0, data.length, offset, (err) => cb(err)));
  }

  async close(opts: { sync: boolean }): Promise<void> {
    try {
      if (opts.sync && supports(this.sftp, 'fsync@openssh.com')) await request((cb) => this.sftp.ext_openssh_fsync(this.handle, (err) => cb(err)));
    } finally {
      await request((cb) => this.sftp.close(this.handle, cb));
    }
  }
}

/** Whether the server announced an extension (ssh2 keeps them on the wrapper; its typings do not show them). */
function supports(sftp: SFTPWrapper, extension: string): boolean {
  const extensions = (sftp as unknown as { _extensions?: Record<string, string> })._extensions;
  return extensions?.[extension] !== undefined;
}

export class SftpDestination implements Destination {
  constructor(private readonly sftp: SFTPWrapper) {}

  async create(path: string, size: number): Promise<DestinationFile> {
    const handle = await this.open(path, 'w').catch(async (err: unknown) => {
      if (!isMissing(err)) throw err;
      await this.makeDirectories(posix.dirname(path));
      return this.open(path, 'w');
    });
    await this.sized(handle, size, 0);
    return new SftpFile(this.sftp, handle);
  }

  async openExisting(path: string, size: number): Promise<DestinationFile> {
    const handle = await this.open(path, 'r+').catch((err: unknown) => {
      if (!isMissing(err)) throw err;
      throw TransferFailed.because(`cannot patch ${path}`, 'it does not exist (a ranged copy patches the file a whole-file copy made)', { dest_path: path });
    });
    const { size: current } = await request<{ size?: number }>((cb) => this.sftp.fstat(handle, cb));
    await this.sized(handle, size, current ?? -1);
    return new SftpFile(this.sftp, handle);
  }

  async rename(from: string, to: string): Promise<void> {
    if (supports(this.sftp, 'posix-rename@openssh.com')) return request((cb) => this.sftp.ext_openssh_rename(from, to, cb));
    // Plain SFTP rename refuses to replace an existing file.
    await this.remove(to);
    await request((cb) => this.sftp.rename(from, to, cb));
  }

  async remove(path: string): Promise<void> {
    await request((cb) => this.sftp.unlink(path, cb)).catch((err: unknown) => {
      if (!isMissing(err)) throw err;
    });
  }

  private open(path: string, flags: 'w' | 'r+'): Promise<Buffer> {
    return request<Buffer>((cb) => this.sftp.open(path, flags, cb));
  }

  /** Sets the file's size (a truncate at the destination), closing the handle if that fails. */
  private async sized(handle: Buffer, size: number, current: number): Promise<void> {
    if (size === current) return;
    try {
      await request((cb) => this.sftp.fsetstat(handle, { size }, cb));
    } catch (err) {
      await request((cb) => this.sftp.close(handle, cb)).catch(() => undefined);
      throw err;
    }
  }

  /** mkdir -p: each missing ancestor, top down. */
  private async makeDirectories(dir: string): Promise<void> {
    const missing: string[] = [];
    for (let d = dir; d !== posix.dirname(d); d = posix.dirname(d)) {
      const exists = await request((cb) => this.sftp.stat(d, (err) => cb(err))).then(() => true, (err: unknown) => {
        if (isMissing(err)) return false;
        throw err;
      });
      if (exists) break;
      missing.unshift(d);
    }
    for (const d of missing) await request((cb) => this.sftp.mkdir(d, cb));
  }
}
