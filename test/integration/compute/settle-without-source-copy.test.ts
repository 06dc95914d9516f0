// A live migration past Perform whose source copy is gone (finalize ran on the source only, behind Ferry's back): the
// source's periodic settle must not roll back, since that kills the destination's incoming VM, which may hold the only
// copy of the guest. It keeps everything as it is and says why; cleanup then resumes the guest on the destination.
import type { FastifyInstance } from 'fastify';
import { advanceMigration, claimResources, createMigration, flavorResources, getMigration, type InstanceFlavor } from '@ferry/common/db';
import { guestName } from '@ferry/common/domain';
import { type CleanupReport } from '@ferry/compute/cleanup';
import { induceFailureMode } from '@ferry/compute/drivers';
import { insertBuildingInstance, instanceFlavor } from '../scheduler/fixtures';
import { apiOn, tokenFrom } from './api-on-cluster';
import { Cluster } from './cluster';

jest.setTimeout(90_000);

describe('settling a live migration whose source holds no copy (amqp bus, postgres database)', () => {
  let cluster: Cluster;
  let app: FastifyInstance;
  let tiny: InstanceFlavor;

  beforeAll(async () => {
    // The source's settle pass runs every second.
    cluster = await Cluster.start('amqp', 'postgres', { powerSyncSeconds: 1, rpcTimeoutSeconds: 3 });
    tiny = await instanceFlavor(cluster.ds, 'm1.tiny');
    app = await apiOn(cluster);
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await cluster?.close();
  });

  it('keeps the incoming VM and the record for cleanup, which resumes the guest there', async () => {
    const row = await insertBuildingInstance(cluster.ds, tiny, { vm_state: 'active', task_state: 'migrating', power_state: 1, host: 'compute-1', node: 'compute-1' });
    for (const host of ['compute-1', 'compute-2']) expect(await claimResources(cluster.ds, { consumer_uuid: row.uuid, host, ...flavorResources(tiny) })).toBe(true);
    const spec = { uuid: row.uuid, name: guestName(row.uuid), flavor: tiny, image_ref: 'cirros' };
    await cluster.driver('compute-1').spawn(spec);
    // The hosts first: a record past Perform with the source's copy still there would be settled (rolled back) at once.
    await induceFailureMode('finalize_source_only', { stateDir: cluster.config.stateDir, spec, source: 'compute-1', other: 'compute-2' });
    const m = await createMigration(cluster.ds, { instance_uuid: row.uuid, migration_type: 'live-migration', status: 'queued', source_compute: 'compute-1', dest_compute: 'compute-2' }, 'dest');
    for (const [from, to] of [['queued', 'preparing'], ['preparing', 'running'], ['running', 'post-migrating']] as const) {
      expect(await advanceMigration(cluster.ds, m.id, [from], to, 'source', { last_error: 'Finish failed' })).toBe(true);
    }

    // Several settle passes go by.
    const deadline = Date.now() + 20_000;
    let record = await getMigration(cluster.ds, m.id);
    while (!/holds no copy/.test(record?.last_error ?? '') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      record = await getMigration(cluster.ds, m.id);
    }
    await new Promise((r) => setTimeout(r, 2_500));
    record = await getMigration(cluster.ds, m.id);
    expect(record).toMatchObject({ status: 'post-migrating', last_error: expect.stringMatching(/compute-1 holds no copy of the guest; the destination's incoming VM may hold the only one/) });
    expect(await cluster.driver('compute-2').guestPresence(row.uuid)).toBe('incoming');

    const res = await app.inject({
      method: 'POST', url: `/compute/v2.1/servers/${row.uuid}/action`, headers: { 'x-auth-token': await tokenFrom(app, 'admin', 'ferry-admin') }, payload: { 'ferry-cleanup': null },
    });
    expect(res.statusCode).toBe(200);
    expect((res.json() as { cleanup: CleanupReport }).cleanup).toMatchObject({ result: 'converged', outcome: 'finish_forward' });
    expect(await cluster.driver('compute-2').guestPresence(row.uuid)).toBe('running');
    expect((await getMigration(cluster.ds, m.id))!.status).toBe('completed');
  });
});
