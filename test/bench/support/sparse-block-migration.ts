// Block live migration of the fake driver (its stand-in for QEMU's NBD mirror) of a 20 GiB sparse disk holding
// 100 MiB against a dense 100 MiB disk: the copy reads only the regions the disk holds, so both should cost about the
// same. Timed from Perform to the job's completion (the plan of allocated regions included); RAM is 64 MiB on a time
// scale that makes its pre-copy a few ms.
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { FakeDriver, type VmSpec } from '@ferry/compute/drivers';
import { sameContent } from '../../support/same-content';
import { DISK_KINDS, sparseVerdict, writeBenchDisk, type DiskKind } from './sparse-disks';

const ROUNDS = 9;
const FLAVOR = { id: 1, flavorid: 'bench', name: 'bench.block', vcpus: 1, memory_mb: 64, root_gb: 20, ephemeral_gb: 0, swap: 0, extra_specs: {} };
const OPTIONS = { destHost: 'block-dst', blockMigration: true, maxDowntimeMs: 500, autoConverge: false, postCopyAllowed: false };

export async function blockMigrationSparseAgainstDense(dir: string): Promise<void> {
  const stateDir = join(dir, 'block-migration');
  const make = (host: string) => new FakeDriver({ host, stateDir, vcpus: 8, memoryMb: 16384, diskGb: 100, liveMigrationTimeScale: 0.0001 });
  const [src, dst] = [make('block-src'), make(OPTIONS.destHost)];
  await Promise.all([src.init(), dst.init()]);
  const seconds: Record<DiskKind, number[]> = { sparse: [], dense: [] };
  // The fake job steps on an unref'd timer: something must keep the process up while it runs.
  const alive = setInterval(() => undefined, 1000);
  try {
    await rounds(src, dst, seconds);
  } finally {
    clearInterval(alive);
  }
  console.log(sparseVerdict('fake block live migration', seconds));
}

async function rounds(src: FakeDriver, dst: FakeDriver, seconds: Record<DiskKind, number[]>): Promise<void> {
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of DISK_KINDS) {
      const spec: VmSpec = { uuid: randomUUID(), name: `block-${kind}`, flavor: FLAVOR, image_ref: 'cirros' };
      await src.spawn(spec);
      await writeBenchDisk(src.diskPath(spec.uuid), kind);
      const prepared = await dst.liveMigrationPrepare(spec, await src.liveMigrationBegin(spec.uuid, OPTIONS), { blockMigration: true });
      const started = performance.now();
      const job = await src.liveMigrationPerform(spec.uuid, prepared, OPTIONS);
      await job.done;
      seconds[kind].push((performance.now() - started) / 1000);
      const stats = job.stats();
      if (stats.disk_total > 128 * 1024 * 1024) throw new Error(`${kind}: disk_total ${stats.disk_total} counts more than the disk holds`);
      if (!(await sameContent(dst.diskPath(spec.uuid), src.diskPath(spec.uuid)))) throw new Error(`${kind}: the block migration's copy differs`);
      await Promise.all([rm(src.vmDir(spec.uuid), { recursive: true, force: true }), rm(dst.vmDir(spec.uuid), { recursive: true, force: true })]);
    }
  }
}
