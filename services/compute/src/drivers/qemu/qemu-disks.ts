// A qemu host's disks: qcow2 overlays over a per-host cache of image bases, and what a move does to them offline
// (point an arriving overlay at this host's base, fold a pass-2 overlay into the disk under it, grow a disk).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Size of the blank base every image gets here (the catalog's images carry no content of their own). */
const BLANK_BASE_BYTES = 1024 ** 3;

export class QemuDisks {
  constructor(readonly imagesDir: string) {}

  /** The image's base in this host's cache: blank, made once. Every host makes the same one, so overlays move freely. */
  async baseImage(imageRef: string): Promise<string> {
    const base = join(this.imagesDir, `${createHash('sha256').update(imageRef).digest('hex').slice(0, 16)}.qcow2`);
    if (await exists(base)) return base;
    const partial = `${base}.${process.pid}.partial`;
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', partial, String(BLANK_BASE_BYTES)]);
    await rename(partial, base);
    return base;
  }

  /** A qcow2 overlay at path over the image's base: `size` bytes or `<n>G`, else the base's size. */
  async createOverlay(imageRef: string, path: string, size?: number | string): Promise<void> {
    const base = await this.baseImage(imageRef);
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', base, path, ...(size !== undefined ? [String(size)] : [])]);
  }

  /**
   * Points an overlay copied in from another host at this host's base of the same image (the bases are identical,
   * so only the recorded path changes: an unsafe rebase, which reads no data).
   */
  async adoptOverlay(imageRef: string, path: string): Promise<void> {
    await run('qemu-img', ['rebase', '-u', '-f', 'qcow2', '-F', 'qcow2', '-b', await this.baseImage(imageRef), path]);
  }

  /**
   * Folds the overlay at top (whose data belongs over disk) into disk and removes it. The top may still name the
   * path its disk had on another host: it is pointed at disk first. A top that is not there is no error.
   */
  async foldInto(top: string, disk: string): Promise<void> {
    if (!(await exists(top))) return;
    await run('qemu-img', ['rebase', '-u', '-f', 'qcow2', '-F', 'qcow2', '-b', disk, top]);
    await run('qemu-img', ['commit', '-q', '-f', 'qcow2', top]);
    await rm(top, { force: true });
  }

  /** Grows the disk to gb GiB when it is smaller (a disk is never shrunk). */
  async growTo(path: string, gb: number): Promise<void> {
    if (gb <= 0) return;
    if ((await this.virtualSize(path)) < gb * 1024 ** 3) await run('qemu-img', ['resize', '-q', '-f', 'qcow2', path, `${gb}G`]);
  }

  /** The disk's size as the guest sees it (readable while a QEMU holds the disk). */
  async virtualSize(path: string): Promise<number> {
    const { stdout } = await run('qemu-img', ['info', '-U', '--output=json', path]);
    return (JSON.parse(stdout) as { 'virtual-size': number })['virtual-size'];
  }
}

export function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}
