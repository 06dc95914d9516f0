// A cold move of a guest that writes nothing while pass 1 copies its disk: no pass 2 to run, and the plan that says
// so, with the power-off's time, reaches the record with the hand-over (no write of its own).
import { Migration } from '@ferry/common/db';
import { insertBuildingInstance, instanceFlavor, requestSpecFor } from '../scheduler/fixtures';
import { Cluster } from './cluster';

describe('cold move of a quiet guest (amqp, postgres)', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    // The fake guests write nothing (fakeGuestWriteRate 0): pass 1 leaves no changed region behind.
    cluster = await Cluster.start('amqp', 'postgres');
  }, 60_000);
  afterAll(async () => {
    await cluster?.close();
  });

  it('skips pass 2 and records the stop, the empty pass 2 and the plan with the hand-over', async () => {
    const tiny = await instanceFlavor(cluster.ds, 'm1.tiny');
    const row = await insertBuildingInstance(cluster.ds, tiny);
    await cluster.requestBuild([row], requestSpecFor(tiny));
    const vm = await cluster.settled(row.uuid);
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
  });
});
