// Atomic claims on real Postgres: schedulers racing for the same host never overcommit it.
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimResources, listAllocations, migrate, openDatabase, releaseClaim, seed, type FerryDatabase, type InstanceFlavor } from '@ferry/common/db';
import { NoValidHost } from '@ferry/common/domain';
import { silentLogger } from '@ferry/common/log';
import { newRequestContext } from '@ferry/common/rpc';
import { loadHostStates, placeInstance, SchedulerManager, type Selection } from '@ferry/scheduler';
import { createTestDatabase, type TestDatabase } from '../../support/db';
import { addComputeHost, instanceFlavor, requestSpecFor } from './fixtures';

const stateDir = mkdtempSync(join(tmpdir(), 'ferry-claims-'));
const config = { schedulerMaxAttempts: 3, serviceDownSeconds: 30 };

describe('atomic claims on Postgres', () => {
  let tdb: TestDatabase;
  /** One database handle (own pool) per scheduler process being simulated. */
  let pools: FerryDatabase[];
  let small: InstanceFlavor;
  let tiny: InstanceFlavor;

  const ds = () => pools[0].dataSource;
  const scheduler = (i: number) => new SchedulerManager({
    ds: pools[i % pools.length].dataSource, config, log: silentLogger(), compute: { buildAndRunInstance: async () => undefined, prepResize: async () => undefined, checkCanLiveMigrateDestination: async () => undefined, rebuildInstance: async () => undefined },
  });

  beforeAll(async () => {
    tdb = await createTestDatabase();
    pools = await Promise.all([0, 1, 2].map(() => openDatabase({ url: tdb.url, stateDir, poolSize: 8 })));
    await migrate(ds());
    await seed(ds());
    small = await instanceFlavor(ds(), 'm1.small');
    tiny = await instanceFlavor(ds(), 'm1.tiny');
  });
  afterAll(async () => {
    await Promise.all(pools?.map((p) => p.close()) ?? []);
    await tdb?.drop();
  });

  it('a claim is idempotent per consumer and host, and can be released', async () => {
    await addComputeHost(ds(), { host: 'idem-1', memory_mb: 4096 });
    const claim = { consumer_uuid: randomUUID(), host: 'idem-1', vcpus: 1, memory_mb: 2048, disk_gb: 20 };
    expect(await claimResources(ds(), claim)).toBe(true);
    expect(await claimResources(ds(), claim)).toBe(true);
    expect(await listAllocations(ds(), { consumer_uuid: claim.consumer_uuid })).toHaveLength(1);
    expect(await claimResources(ds(), { ...claim, host: 'no-such-host' })).toBe(false);
    expect(await releaseClaim(ds(), claim.consumer_uuid, 'idem-1')).toBe(1);
    expect(await releaseClaim(ds(), claim.consumer_uuid)).toBe(0);
  });

  it('two schedulers that both picked the last slot of a host: exactly one wins it, the other takes the next host', async () => {
    for (let round = 0; round < 10; round++) {
      // best has room for exactly one m1.small and more free RAM than next, so both schedulers pick it first.
      const [best, next] = [`last-${round}-a`, `last-${round}-b`];
      await addComputeHost(ds(), { host: best, memory_mb: 3000 });
      await addComputeHost(ds(), { host: next, memory_mb: 2500 });
      const only = { force_hosts: [best, next] };
      // Both read the hosts before either claims: the race is real, not a matter of timing.
      const [viewA, viewB] = await Promise.all([loadHostStates(pools[0].dataSource, 30), loadHostStates(pools[1].dataSource, 30)]);
      const [a, b] = await Promise.all([
        placeInstance(viewA, randomUUID(), requestSpecFor(small, only), { maxAttempts: 3, claim: (c) => claimResources(pools[0].dataSource, c) }),
        placeInstance(viewB, randomUUID(), requestSpecFor(small, only), { maxAttempts: 3, claim: (c) => claimResources(pools[1].dataSource, c) }),
      ]);
      expect([a.host, b.host].sort()).toEqual([best, next]);
      // A third scheduler finds both full.
      const viewC = await loadHostStates(pools[2].dataSource, 30);
      viewC.filter((h) => h.host === best || h.host === next).forEach((h) => { h.used = { vcpus: 0, memory_mb: 0, disk_gb: 0 }; });
      await expect(placeInstance(viewC, randomUUID(), requestSpecFor(small, only), {
        maxAttempts: 3, claim: (c) => claimResources(pools[2].dataSource, c),
      })).rejects.toThrow(NoValidHost);
    }
  });

  it('select_destinations from three scheduler instances at once: one winner for the last slot, NoValidHost for the third', async () => {
    await addComputeHost(ds(), { host: 'sd-a', memory_mb: 3000 });
    await addComputeHost(ds(), { host: 'sd-b', memory_mb: 2500 });
    const spec = requestSpecFor(small, { force_hosts: ['sd-a', 'sd-b'] });
    const results = await Promise.allSettled([0, 1, 2].map((i) => scheduler(i).select_destinations(newRequestContext(), { instance_uuids: [randomUUID()], request_spec: spec })));
    const won = results.filter((r): r is PromiseFulfilledResult<Selection[]> => r.status === 'fulfilled').map((r) => r.value[0].host).sort();
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
    expect(won).toEqual(['sd-a', 'sd-b']);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toBeInstanceOf(NoValidHost);
  });

  it('100 concurrent claims on one host from three pools: exactly as many win as fit', async () => {
    await addComputeHost(ds(), { host: 'crowded', memory_mb: 7 * 512 + 100 });
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) =>
      claimResources(pools[i % 3].dataSource, { consumer_uuid: randomUUID(), host: 'crowded', vcpus: 1, memory_mb: 512, disk_gb: 1 })));
    expect(results.filter(Boolean)).toHaveLength(7);
    expect(await listAllocations(ds(), { host: 'crowded' })).toHaveLength(7);
  });

  it('50 concurrent placements on a few hosts never exceed capacity × allocation ratio on any resource', async () => {
    // vCPU-bound: 2 × 4.0 = 8 slots; RAM-bound: 2 GiB × 1.5 = 6 slots; disk-bound: 6 slots (m1.tiny: 1 vCPU, 512 MiB, 1 GiB).
    const hosts = [
      { host: 'busy-cpu', vcpus: 2, cpu_allocation_ratio: 4, memory_mb: 65536 },
      { host: 'busy-ram', vcpus: 64, memory_mb: 2 * 1024, ram_allocation_ratio: 1.5, local_gb: 1000 },
      { host: 'busy-disk', vcpus: 64, memory_mb: 65536, local_gb: 6 },
    ];
    for (const h of hosts) await addComputeHost(ds(), h);
    const spec = requestSpecFor(tiny, { force_hosts: hosts.map((h) => h.host) });
    const started = performance.now();
    const results = await Promise.allSettled(Array.from({ length: 50 }, (_, i) =>
      scheduler(i).select_destinations(newRequestContext(), { instance_uuids: [randomUUID()], request_spec: spec })));
    const elapsedMs = performance.now() - started;

    const perHost = new Map<string, number>();
    for (const r of results) if (r.status === 'fulfilled') perHost.set(r.value[0].host, (perHost.get(r.value[0].host) ?? 0) + 1);
    expect(Object.fromEntries(perHost)).toEqual({ 'busy-cpu': 8, 'busy-ram': 6, 'busy-disk': 6 });
    expect(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof NoValidHost)).toBe(true);
    for (const h of hosts) {
      const [sum] = await ds().query(
        `SELECT coalesce(sum(vcpus),0)::int AS vcpus, coalesce(sum(memory_mb),0)::int AS memory_mb, coalesce(sum(disk_gb),0)::int AS disk_gb FROM allocations WHERE host = $1`, [h.host]);
      const [node] = await ds().query(`SELECT vcpus * cpu_allocation_ratio AS v, memory_mb * ram_allocation_ratio AS m, local_gb * disk_allocation_ratio AS d FROM compute_nodes WHERE host = $1`, [h.host]);
      expect(sum.vcpus).toBeLessThanOrEqual(node.v);
      expect(sum.memory_mb).toBeLessThanOrEqual(node.m);
      expect(sum.disk_gb).toBeLessThanOrEqual(node.d);
    }
    expect(elapsedMs).toBeLessThan(20_000);
  });
});
