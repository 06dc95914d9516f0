// The test guest: a Debian kernel and a busybox initramfs, built from Debian's packages the first time it is asked for
// and kept under a cache directory. Its init prints `ferry-counter N` on the serial console every 100 ms (N never
// restarts while the guest lives, so a guest that kept running across a move is seen to) and, when the kernel command
// line says `ferry.dirty_kib_s=R`, rewrites R KiB of its memory per second over a span of `ferry.dirty_span_mib=S` MiB
// (16 by default), so a live migration has pages to chase; every second it prints `ferry-dirtied N KiB`, the total its
// writes have covered so far.
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Bumped whenever what is built changes, so an older cache is rebuilt. */
const RECIPE = 'ferry-test-guest 2';

export interface TestGuest {
  kernel: string;
  initrd: string;
  /** The kernel command line: serial console, quiet, and the guest's own settings. */
  append(opts?: { dirtyKibPerSecond?: number; dirtySpanMib?: number }): string;
}

export const COUNTER_LINE = /^ferry-counter (\d+)\r?$/;
export const DIRTIED_LINE = /^ferry-dirtied (\d+) KiB\r?$/;

const INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o size=90% tmpfs /run
arg() { sed -n "s/.*$1=\\([0-9][0-9]*\\).*/\\1/p" /proc/cmdline; }
rate=$(arg ferry.dirty_kib_s); span=$(arg ferry.dirty_span_mib)
[ -n "$rate" ] || rate=0
[ -n "$span" ] || span=16
echo "ferry-guest up: dirtying $rate KiB/s over $span MiB"
if [ "$rate" -gt 0 ]; then
  dd if=/dev/urandom of=/run/buf bs=1M count="$span" 2>/dev/null
  (
    blocks=$((span * 16)); n=$(( (rate / 10 + 63) / 64 )); off=0; tick=0; total=0
    while :; do
      dd if=/run/buf of=/run/buf bs=64k count="$n" skip=$(( (off + blocks / 2) % blocks )) seek="$off" conv=notrunc 2>/dev/null \
        && total=$((total + n * 64))
      off=$(( (off + n) % blocks )); tick=$((tick + 1))
      [ $((tick % 10)) -eq 0 ] && echo "ferry-dirtied $total KiB"
      usleep 100000
    done
  ) &
fi
n=0
while :; do
  echo "ferry-counter $n"
  n=$((n + 1))
  usleep 100000
done
`;

/** The guest's kernel and initramfs under cacheDir, built from Debian's packages on first use. */
export async function ensureTestGuest(cacheDir: string): Promise<TestGuest> {
  const dir = join(cacheDir, 'test-guest');
  const guest: TestGuest = {
    kernel: join(dir, 'vmlinuz'),
    initrd: join(dir, 'initrd.cpio'),
    append: (opts = {}) => [
      'console=ttyS0', 'quiet', 'loglevel=1', 'panic=-1',
      `ferry.dirty_kib_s=${Math.round(opts.dirtyKibPerSecond ?? 0)}`, `ferry.dirty_span_mib=${Math.round(opts.dirtySpanMib ?? 16)}`,
    ].join(' '),
  };
  const stamp = await readFile(join(dir, 'recipe'), 'utf8').catch(() => '');
  if (stamp === RECIPE) return guest;

  await mkdir(cacheDir, { recursive: true });
  const work = await mkdtemp(join(cacheDir, 'test-guest-build-'));
  try {
    const kernelPackage = await debianKernelPackage();
    await download(work, [kernelPackage, 'busybox-static']);
    const debs = await readdir(work);
    const deb = (prefix: string) => join(work, debs.find((f) => f.startsWith(prefix) && f.endsWith('.deb'))!);
    await run('dpkg-deb', ['-x', deb(kernelPackage), join(work, 'kernel')]);
    await run('dpkg-deb', ['-x', deb('busybox-static'), join(work, 'busybox')]);
    const vmlinuz = (await readdir(join(work, 'kernel', 'boot'))).find((f) => f.startsWith('vmlinuz-'));
    if (!vmlinuz) throw new Error(`${kernelPackage} holds no /boot/vmlinuz-*`);

    const root = join(work, 'root');
    for (const d of ['bin', 'dev', 'proc', 'sys', 'run']) await mkdir(join(root, d), { recursive: true });
    await copyFile(join(work, 'busybox', 'bin', 'busybox'), join(root, 'bin', 'busybox'));
    await chmod(join(root, 'bin', 'busybox'), 0o755);
    await writeFile(join(root, 'init'), INIT, { mode: 0o755 });

    const out = join(work, 'out');
    await mkdir(out);
    await copyFile(join(work, 'kernel', 'boot', vmlinuz), join(out, 'vmlinuz'));
    await run('sh', ['-c', `cd "${root}" && find . | cpio -o -H newc --quiet > "${join(out, 'initrd.cpio')}"`]);
    await writeFile(join(out, 'recipe'), RECIPE);
    await rm(dir, { recursive: true, force: true });
    await rename(out, dir);
    return guest;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The versioned kernel package linux-image-amd64 depends on (e.g. linux-image-6.1.0-57-amd64). */
async function debianKernelPackage(): Promise<string> {
  const { stdout } = await run('apt-cache', ['depends', 'linux-image-amd64']).catch((err: Error) => {
    throw new Error(`cannot build the test guest: apt-cache failed (${err.message.trim()})`);
  });
  const name = /Depends: (linux-image-[\w.-]+)/.exec(stdout)?.[1];
  if (!name) throw new Error('cannot build the test guest: apt-cache names no kernel package for linux-image-amd64 (run apt-get update)');
  return name;
}

async function download(dir: string, packages: string[]): Promise<void> {
  await run('apt-get', ['download', ...packages], { cwd: dir }).catch((err: Error & { stderr?: string }) => {
    throw new Error(`cannot build the test guest: apt-get download ${packages.join(' ')} failed: ${(err.stderr ?? err.message).trim()}`);
  });
}
