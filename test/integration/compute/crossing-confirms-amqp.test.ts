// Cold moves confirmed all at once between two hosts in both directions, over RabbitMQ: each source's confirm_resize
// asks the destination get_instance_presence, so both computes' cast slots fill with confirms waiting on calls to
// the other. The calls have a window of their own, so every confirm ends, and well inside one call timeout.
import { advanceMigration, Migration, type Instance } from '@ferry/common/db';
import { DEFAULT_CONCURRENCY, newRequestContext } from '@ferry/common/rpc';
import { insertBuildingInstance, instanceFlavor, requestSpecFor } from '../scheduler/fixtures';
import { Cluster } from './cluster';

/** More confirms at each source than it has cast slots. */
const PER_HOST = DEFAULT_CONCURRENCY + 4;
const RPC_TIMEOUT_S = 20;
const PAIR = { 'compute-1': 'compute-2', 'compute-2': 'compute-1' } as const;

describe('cold moves confirmed at once both ways between two hosts (amqp bus)', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = await Cluster.start('amqp', 'postgres', { rpcTimeoutSeconds: RPC_TIMEOUT_S });
  }, 60_000);
  afterAll(async () => {
    await cluster?.close();
  });

  const migrationOf = (uuid: string) => cluster.ds.getRepository(Migration).findOneOrFail({ where: { instance_uuid: uuid }, order: { id: 'DESC' } });

  it('confirms every move, none of them waiting for a call timeout', async () => {
    const tiny = await instanceFlavor(cluster.ds, 'm1.tiny');
    const moved: { uuid: string; dest: string }[] = [];
    for (const [source, dest] of Object.entries(PAIR)) {
      const rows: Instance[] = [];
      for (let i = 0; i < PER_HOST; i++) rows.push(await insertBuildingInstance(cluster.ds, tiny));
      await cluster.requestBuild(rows, requestSpecFor(tiny, { force_hosts: [source] }));
      for (const row of rows) expect((await cluster.settled(row.uuid, 60_000)).host).toBe(source);
      for (const row of rows) await cluster.requestMove(row.uuid, { host: dest });
      moved.push(...rows.map((row) => ({ uuid: row.uuid, dest })));
    }
    for (const vm of moved) await cluster.waitFor(vm.uuid, (i) => i.vm_state === 'resized' && i.task_state === null, 120_000);

    // What the API does for confirmResize, for every move at once.
    const migrations = await Promise.all(moved.map((vm) => migrationOf(vm.uuid)));
    for (const m of migrations) expect(await advanceMigration(cluster.ds, m.id, ['finished'], 'confirming', 'api')).toBe(true);
    const started = Date.now();
    await Promise.all(migrations.map((m) => cluster.compute.confirmResize(newRequestContext(), m.source_compute!, m.id)));
    const ids = migrations.map((m) => m.id);
    const statuses = async () => (await Promise.all(ids.map((id) => cluster.ds.getRepository(Migration).findOneByOrFail({ id })))).map((m) => m.status);
    await cluster.waitUntil(async () => (await statuses()).every((s) => s !== 'confirming'), 3 * RPC_TIMEOUT_S * 1000);
    expect(new Set(await statuses())).toEqual(new Set(['confirmed']));
    expect(Date.now() - started).toBeLessThan(RPC_TIMEOUT_S * 1000);
    for (const vm of moved) expect((await cluster.instance(vm.uuid)).host).toBe(vm.dest);
  }, 300_000);
});
