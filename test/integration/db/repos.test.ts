import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CIRROS_IMAGE_ID, claimResources, CLASSIC_FLAVORS, computeNodesOf, Flavor, Image, listComputeNodes, listServices, migrate, openDatabase, recordHeartbeat,
  recordHostUsage, seed, upsertComputeNode, type FerryDatabase,
} from '@ferry/common/db';
import { createTestDatabase, type TestDatabase } from '../../support/db';

describe('services, compute nodes and seed data on Postgres', () => {
  let tdb: TestDatabase;
  let db: FerryDatabase;

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = await openDatabase({ url: tdb.url, stateDir: mkdtempSync(join(tmpdir(), 'ferry-repos-')), poolSize: 4 });
    await migrate(db.dataSource);
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });

  it('records heartbeats as an upsert on (host, binary), on the database clock', async () => {
    const beat = { host: 'h1', binary: 'ferry-compute', topic: 'compute', version: '0.1.0' };
    await recordHeartbeat(db.dataSource, beat);
    const [first] = await listServices(db.dataSource);
    await recordHeartbeat(db.dataSource, { ...beat, version: '0.1.1' });
    await recordHeartbeat(db.dataSource, { ...beat, host: 'h0', binary: 'ferry-scheduler', topic: 'scheduler' });
    const [{ now }] = await db.dataSource.query('SELECT now() AS now');

    const services = await listServices(db.dataSource);
    expect(services.map((s) => [s.host, s.binary])).toEqual([['h0', 'ferry-scheduler'], ['h1', 'ferry-compute']]);
    const h1 = services[1];
    expect(h1).toMatchObject({ topic: 'compute', version: '0.1.1', report_count: 2, disabled: false, forced_down: false, disabled_reason: null });
    expect(h1.id).toBe(first.id);
    expect(h1.last_seen_up!.getTime()).toBeGreaterThanOrEqual(first.last_seen_up!.getTime());
    expect(h1.last_seen_up!.getTime()).toBeLessThanOrEqual(new Date(now).getTime());
  });

  it('keeps one heartbeat row per service under concurrent beats', async () => {
    const beat = { host: 'h2', binary: 'ferry-compute', topic: 'compute', version: '0.1.0' };
    await Promise.all(Array.from({ length: 20 }, () => recordHeartbeat(db.dataSource, beat)));
    const rows = (await listServices(db.dataSource)).filter((s) => s.host === 'h2');
    expect(rows).toHaveLength(1);
    expect(rows[0].report_count).toBe(20);
  });

  it('upserts a compute node per host, refreshing what the host reports and keeping usage', async () => {
    const report = {
      host: 'compute-1', hypervisor_hostname: 'compute-1.local', hypervisor_type: 'fake', vcpus: 8, memory_mb: 16384, local_gb: 200,
      cpu_model: 'Haswell', capabilities: { supports_live_migrate_rescued: true }, storage_id: 'local-compute-1',
    };
    const created = await upsertComputeNode(db.dataSource, report);
    expect(created).toMatchObject({ ...report, vcpus_used: 0, cpu_allocation_ratio: 16, ram_allocation_ratio: 1.5 });
    await db.dataSource.query(`UPDATE compute_nodes SET vcpus_used = 3 WHERE host = 'compute-1'`);

    const updated = await upsertComputeNode(db.dataSource, { ...report, vcpus: 16, capabilities: {}, host_ip: '10.0.0.1' });
    expect(updated).toMatchObject({ id: created.id, uuid: created.uuid, vcpus: 16, vcpus_used: 3, capabilities: {}, host_ip: '10.0.0.1' });
    await upsertComputeNode(db.dataSource, { ...report, host: 'compute-0', storage_id: 'shared' });
    expect((await listComputeNodes(db.dataSource)).map((n) => n.host)).toEqual(['compute-0', 'compute-1']);
  });

  it('reads the named hosts\' compute nodes only, as listComputeNodes reads them', async () => {
    for (const host of ['named-a', 'named-b', 'named-c']) {
      await upsertComputeNode(db.dataSource, {
        host, hypervisor_hostname: `${host}.local`, hypervisor_type: 'fake', vcpus: 4, memory_mb: 4096, local_gb: 40, cpu_model: 'Haswell',
        capabilities: { supports_live_migrate_rescued: host === 'named-a' }, storage_id: `local-${host}`,
      });
    }
    const nodes = await computeNodesOf(db.dataSource, ['named-a', 'named-c', 'no-such-host']);
    expect([...nodes.keys()].sort()).toEqual(['named-a', 'named-c']);
    const all = await listComputeNodes(db.dataSource);
    expect(nodes.get('named-a')).toEqual(all.find((n) => n.host === 'named-a'));
    expect(nodes.get('named-c')).toEqual(all.find((n) => n.host === 'named-c'));
  });

  it('writes a host\'s usage only when it changed, and says when the host has no row', async () => {
    await upsertComputeNode(db.dataSource, {
      host: 'usage-1', hypervisor_hostname: 'usage-1', hypervisor_type: 'fake', vcpus: 8, memory_mb: 16384, local_gb: 200,
      cpu_model: 'Haswell', capabilities: {}, storage_id: 'local-usage-1',
    });
    const stamp = async () => ((await db.dataSource.query(`SELECT vcpus_used, running_vms, updated_at FROM compute_nodes WHERE host = 'usage-1'`)) as
      { vcpus_used: number; running_vms: number; updated_at: Date }[])[0]!;
    expect(await recordHostUsage(db.dataSource, 'usage-1', 0)).toBe('unchanged');
    expect(await claimResources(db.dataSource, { consumer_uuid: '6f1c1a2e-0000-4000-8000-000000000001', host: 'usage-1', vcpus: 2, memory_mb: 512, disk_gb: 1 })).toBe(true);
    expect(await recordHostUsage(db.dataSource, 'usage-1', 1)).toBe('written');
    const written = await stamp();
    expect(written).toMatchObject({ vcpus_used: 2, running_vms: 1 });
    expect(await recordHostUsage(db.dataSource, 'usage-1', 1)).toBe('unchanged');
    expect((await stamp()).updated_at).toEqual(written.updated_at);
    expect(await recordHostUsage(db.dataSource, 'usage-1', 2)).toBe('written');
    expect(await recordHostUsage(db.dataSource, 'no-such-host', 0)).toBe('missing');
  });

  it('seeds the classic flavors and cirros once, however often it runs', async () => {
    expect(await seed(db.dataSource)).toEqual({ flavors: 5, images: 1, projects: 2, users: 2, roleAssignments: 2 });
    expect(await seed(db.dataSource)).toEqual({ flavors: 0, images: 0, projects: 0, users: 0, roleAssignments: 0 });
    const flavors = await db.dataSource.getRepository(Flavor).find({ order: { flavorid: 'ASC' } });
    expect(flavors.map((f) => [f.flavorid, f.name, f.vcpus, f.memory_mb, f.root_gb])).toEqual([
      ['1', 'm1.tiny', 1, 512, 1], ['2', 'm1.small', 1, 2048, 20], ['3', 'm1.medium', 2, 4096, 40],
      ['4', 'm1.large', 4, 8192, 80], ['5', 'm1.xlarge', 8, 16384, 160],
    ]);
    expect(flavors.every((f) => f.is_public && !f.disabled && f.swap === 0 && f.ephemeral_gb === 0 && f.rxtx_factor === 1)).toBe(true);
    expect(CLASSIC_FLAVORS).toHaveLength(5);
    const cirros = await db.dataSource.getRepository(Image).findOneByOrFail({ id: CIRROS_IMAGE_ID });
    expect(cirros).toMatchObject({ name: 'cirros', disk_format: 'qcow2', container_format: 'bare', min_disk: 0, status: 'active', visibility: 'public' });
    expect(cirros.size).toBeGreaterThan(10 * 2 ** 20);
  });
});
