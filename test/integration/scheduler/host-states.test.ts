// What the scheduler reads from Postgres: capacity with ratios, current allocations, zones and compute service health.
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimResources, listServices, migrate, openDatabase, seed, type FerryDatabase, type InstanceFlavor } from '@ferry/common/db';
import { NoValidHost } from '@ferry/common/domain';
import { silentLogger } from '@ferry/common/log';
import { newRequestContext } from '@ferry/common/rpc';
import { readPlacementSnapshot } from '@ferry/common/scheduling';
import { loadHostStates, loadPlacements, SchedulerManager } from '@ferry/scheduler';
import { createTestDatabase, type TestDatabase } from '../../support/db';
import { addComputeHost, instanceFlavor, requestSpecFor } from './fixtures';

describe('scheduler host states on Postgres', () => {
  let tdb: TestDatabase;
  let db: FerryDatabase;
  let small: InstanceFlavor;
  const ds = () => db.dataSource;
  const select = (spec: ReturnType<typeof requestSpecFor>) => new SchedulerManager({
    ds: ds(), config: { schedulerMaxAttempts: 3, serviceDownSeconds: 30 }, log: silentLogger(), compute: { buildAndRunInstance: async () => undefined, prepResize: async () => undefined, checkCanLiveMigrateDestination: async () => undefined, rebuildInstance: async () => undefined },
  }).select_destinations(newRequestContext(), { instance_uuids: [randomUUID()], request_spec: spec });

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = await openDatabase({ url: tdb.url, stateDir: mkdtempSync(join(tmpdir(), 'ferry-hosts-')), poolSize: 4 });
    await migrate(ds());
    await seed(ds());
    small = await instanceFlavor(ds(), 'm1.small');
    await addComputeHost(ds(), { host: 'up', memory_mb: 8192, cpu_allocation_ratio: 4, ram_allocation_ratio: 1.5, availability_zone: 'az1' });
    for (const host of ['stale', 'disabled', 'forced-down']) await addComputeHost(ds(), { host, memory_mb: 65536 });
    await addComputeHost(ds(), { host: 'other-zone', memory_mb: 4096, availability_zone: 'az2' });
    await ds().query(`UPDATE services SET last_seen_up = now() - interval '5 minutes' WHERE host = 'stale'`);
    await ds().query(`UPDATE services SET disabled = true, disabled_reason = 'maintenance' WHERE host = 'disabled'`);
    await ds().query(`UPDATE services SET forced_down = true WHERE host = 'forced-down'`);
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });

  it('reads capacity × ratio, the allocations held, the zone and the service state of every host', async () => {
    await claimResources(ds(), { consumer_uuid: randomUUID(), host: 'up', vcpus: 2, memory_mb: 1024, disk_gb: 10 });
    const hosts = new Map((await loadHostStates(ds(), 30)).map((h) => [h.host, h]));
    expect(hosts.get('up')).toMatchObject({
      availability_zone: 'az1', capacity: { vcpus: 64, memory_mb: 12288, disk_gb: 1000 }, used: { vcpus: 2, memory_mb: 1024, disk_gb: 10 },
      service: { state: 'up', disabled: false },
    });
    expect(hosts.get('stale')!.service!.state).toBe('down');
    expect(hosts.get('disabled')!.service).toMatchObject({ state: 'up', disabled: true });
    expect(hosts.get('forced-down')!.service!.state).toBe('down');
  });

  it('places only on hosts whose compute is up and enabled, in the requested zone', async () => {
    // The down and disabled hosts have the most free RAM: only the filters keep the scheduler off them.
    expect((await select(requestSpecFor(small)))[0].host).toBe('up');
    expect((await select(requestSpecFor(small, { availability_zone: 'az2' })))[0].host).toBe('other-zone');
    await expect(select(requestSpecFor(small, { availability_zone: 'az2', ignore_hosts: ['other-zone'] }))).rejects.toBeInstanceOf(NoValidHost);
    await expect(select(requestSpecFor(small, { force_hosts: ['stale', 'disabled', 'forced-down'] }))).rejects.toBeInstanceOf(NoValidHost);
  });

  it('one read for several consumers: each finds its own claims, whatever the case of its uuid, none finds another\'s', async () => {
    const [a, b, none] = [randomUUID(), randomUUID(), randomUUID()];
    await claimResources(ds(), { consumer_uuid: a, host: 'up', vcpus: 1, memory_mb: 512, disk_gb: 1 });
    await claimResources(ds(), { consumer_uuid: b, host: 'other-zone', vcpus: 1, memory_mb: 512, disk_gb: 1 });
    await claimResources(ds(), { consumer_uuid: b, host: 'up', vcpus: 1, memory_mb: 512, disk_gb: 1 });
    const shared = await loadPlacements(ds(), 30, [a.toUpperCase(), b, none]);
    expect(shared.heldHostsOf(a)).toEqual(['up']);
    expect(shared.heldHostsOf(b.toUpperCase())).toEqual(['other-zone', 'up']);
    expect(shared.heldHostsOf(none)).toEqual([]);
    expect(shared.hosts.map((h) => h.host).sort()).toEqual((await loadHostStates(ds(), 30)).map((h) => h.host).sort());
    expect((await loadPlacements(ds(), 30, [])).heldHostsOf(a)).toEqual([]);
  });

  it('reads the nodes, the services on the database clock and the consumer\'s claims as one snapshot', async () => {
    const consumer = randomUUID();
    await claimResources(ds(), { consumer_uuid: consumer, host: 'other-zone', vcpus: 1, memory_mb: 512, disk_gb: 1 });
    await claimResources(ds(), { consumer_uuid: consumer, host: 'up', vcpus: 1, memory_mb: 512, disk_gb: 1 });
    const snap = await readPlacementSnapshot(ds(), [consumer]);
    const [{ now }] = await ds().query('SELECT now() AS now');
    expect(snap.heldHostsOf(consumer)).toEqual(['other-zone', 'up']);
    expect((await readPlacementSnapshot(ds())).heldHostsOf(consumer)).toEqual([]);
    expect(snap.now.getTime()).toBeLessThanOrEqual(new Date(now).getTime());
    const viaOrm = await listServices(ds());
    expect(snap.services).toEqual(viaOrm.map((s) => ({
      host: s.host, binary: s.binary, topic: s.topic, disabled: s.disabled, disabled_reason: s.disabled_reason, forced_down: s.forced_down, last_seen_up: s.last_seen_up,
    })));
    expect(snap.services.find((s) => s.host === 'stale')!.last_seen_up).toBeInstanceOf(Date);
    const up = snap.capacities.find((c) => c.host === 'up')!;
    const [{ vcpus, memory_mb }] = await ds().query(`SELECT sum(vcpus)::int AS vcpus, sum(memory_mb)::int AS memory_mb FROM allocations WHERE host = 'up'`);
    expect(up).toMatchObject({ availability_zone: 'az1', memory_mb: 8192, cpu_allocation_ratio: 4, ram_allocation_ratio: 1.5, vcpus_used: vcpus, memory_mb_used: memory_mb });
    expect(snap.capacities.map((c) => c.host)).toEqual([...snap.capacities.map((c) => c.host)].sort());
  });
});
