// A cold move of a guest that writes nothing while pass 1 copies its disk: no pass 2 to run, and the plan that says
// so, with the power-off's time and the copy's figures, reaches the record with the hand-over (no write of its own).
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Migration } from '@ferry/common/db';
import { instanceFlavor } from '../scheduler/fixtures';
import { Cluster } from './cluster';

const MIB = 1024 * 1024;

describe('cold move of a quiet guest (amqp, postgres)', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    // The fake guests write nothing (fakeGuestWriteRate 0): pass 1 leaves no changed region behind.
    cluster = await Cluster.start('amqp', 'postgres', { fakeGuestWriteRate: 0 });
  }, 60_000);
  afterAll(async () => {
    await cluster?.close();
  });

  it('skips pass 2 and records the stop, the empty pass 2, the plan and the copy\'s figures with the hand-over', async () => {
    const tiny = await instanceFlavor(cluster.ds, 'm1.tiny');
    const vm = await cluster.buildServer(tiny);
    // Something on the disk for pass 1 to move (the guest itself writes nothing).
    const disk = await open(cluster.driver(vm.host!).diskPath(vm.uuid), 'r+');
    await disk.write(randomBytes(MIB), 0, MIB, 0);
    await disk.close();
    await cluster.requestMove(vm.uuid);
    const moved = await cluster.waitFor(vm.uuid, (i) => i.vm_state === 'resized' && i.task_state === null, 30_000);
    expect(moved.host).not.toBe(vm.host);
    const m = await cluster.ds.getRepository(Migration).findOneByOrFail({ instance_uuid: vm.uuid });
    expect(m.status).toBe('finished');
    expect(m.phase_timings).toMatchObject({
      copy_pass_1: { started_at: expect.any(String), finished_at: expect.any(String) },
      guest_stopped: { at: expect.any(String) },
      copy_pass_2: { ranges: 0, bytes_planned: 0, bytes: 0 },
    });
    expect(m.migrate_data).toMatchObject({ pass1_done: true, pass2_ranges: [], pass2_files: [] });
    // Pass 1's start rode on the step to `migrating` (one write, one moment).
    const timings = m.phase_timings as Record<string, { started_at?: string; bytes_allocated?: number }>;
    expect(timings.copy_pass_1!.started_at).toBe(timings.migrating!.started_at);
    // A copy this short writes no progress of its own: its figures came with the hand-over.
    const copied = timings.copy_pass_1!.bytes_allocated!;
    expect(copied).toBeGreaterThanOrEqual(MIB);
    expect(m).toMatchObject({ disk_total: copied, disk_processed: copied, disk_remaining: 0 });
  });
});
