// The two disks of the sparse benchmarks: 20 GiB holding 100 MiB (1 MiB every 200 MiB) and a dense 100 MiB one.
import { randomFillSync } from 'node:crypto';
import { open } from 'node:fs/promises';

const MIB = 1024 * 1024;

export type DiskKind = 'sparse' | 'dense';

export const DISK_KINDS: readonly DiskKind[] = ['dense', 'sparse'];

/** Writes (or rewrites) the disk of that kind at path: 100 random MiB, spread over 20 GiB or packed into 100 MiB. */
export async function writeBenchDisk(path: string, kind: DiskKind): Promise<void> {
  const [size, offsetOf] = kind === 'sparse' ? [20 * 1024 * MIB, (i: number) => i * 200 * MIB] : [100 * MIB, (i: number) => i * MIB];
  const chunk = Buffer.allocUnsafe(MIB);
  const handle = await open(path, 'w');
  try {
    await handle.truncate(size);
    for (let i = 0; i < 100; i++) await handle.write(randomFillSync(chunk), 0, MIB, offsetOf(i));
  } finally {
    await handle.close();
  }
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The closing line of a sparse-against-dense comparison: both medians and their ratio against the target. */
export function sparseVerdict(what: string, seconds: Record<DiskKind, number[]>, target = 1.5): string {
  const [s, d] = [median(seconds.sparse), median(seconds.dense)];
  const ratio = s / d;
  return `20 GiB sparse (100 MiB allocated) vs 100 MiB dense, ${what}, median of ${seconds.sparse.length}: ` +
    `${s.toFixed(2)} s vs ${d.toFixed(2)} s = ${ratio.toFixed(2)}× (target ≤ ${target}): ${ratio <= target ? 'MET' : 'NOT MET'}`;
}
