// The fake driver's block live migration of a large sparse disk: it reads only the regions the disk holds, reports
// those bytes as disk_total, and leaves a copy as sparse as the source with the same content.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeDriver, type LiveMigrationJobStats, type VmSpec } from '@ferry/compute/drivers';
import { allocatedRanges, totalLength } from '@ferry/compute/transfer';
import { sameContent } from '../../support/same-content';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const FLAVOR = { id: 1, flavorid: '1', name: 'sparse.20g', vcpus: 1, memory_mb: 64, root_gb: 20, ephemeral_gb: 0, swap: 0, extra_specs: {} };
const OPTIONS = { destHost: 'block-dst', blockMigration: true, maxDowntimeMs: 100, autoConverge: false, postCopyAllowed: false };

describe('fake block live migration of a sparse disk', () => {
  let stateDir: string;
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'ferry-fake-block-'));
  });
  afterEach(() => rm(stateDir, { recursive: true, force: true }));

  it('moves a 20 GiB disk holding 3 MiB by its data: disk_total is the allocated bytes, the copy is sparse and equal', async () => {
    const make = (host: string) => new FakeDriver({ host, stateDir, vcpus: 8, memoryMb: 16384, diskGb: 100, liveMigrationTimeScale: 0.001 });
    const [src, dst] = [make('block-src'), make(OPTIONS.destHost)];
    await Promise.all([src.init(), dst.init()]);
    const spec: VmSpec = { uuid: randomUUID(), name: 'vm', flavor: FLAVOR, image_ref: 'cirros' };
    await src.spawn(spec);
    const disk = await open(src.diskPath(spec.uuid), 'r+');
    for (const at of [0, 7 * GIB + 12345, 20 * GIB - MIB]) await disk.write(randomBytes(MIB), 0, MIB, at);
    await disk.close();
    const held = totalLength((await allocatedRanges(src.diskPath(spec.uuid)))!);
    expect(held).toBeGreaterThanOrEqual(3 * MIB);
    expect(held).toBeLessThan(16 * MIB);

    const prepared = await dst.liveMigrationPrepare(spec, await src.liveMigrationBegin(spec.uuid, OPTIONS), { blockMigration: true });
    const job = await src.liveMigrationPerform(spec.uuid, prepared, OPTIONS);
    // Every figure the monitor could read, from the first to the last, counts the held bytes only.
    const figures: LiveMigrationJobStats[] = [job.stats()];
    const sampler = setInterval(() => figures.push(job.stats()), 1);
    try {
      await job.done;
    } finally {
      clearInterval(sampler);
    }
    figures.push(job.stats());
    expect(new Set(figures.map((f) => f.disk_total))).toEqual(new Set([held]));
    expect(figures.at(-1)).toMatchObject({ phase: 'completed', disk_processed: held, disk_remaining: 0 });

    const copy = dst.diskPath(spec.uuid);
    expect((await stat(copy)).size).toBe(20 * GIB);
    expect((await stat(copy)).blocks * 512).toBeLessThan(16 * MIB);
    expect(await sameContent(copy, src.diskPath(spec.uuid))).toBe(true);
  }, 60_000);
});
