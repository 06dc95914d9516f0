// Leases on services rows, decided by one conditional statement each on the database clock.
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  claimServiceLease, migrate, openDatabase, recordHeartbeat, releaseServiceLease, renewServiceLease, renewServiceLeases, serviceLeaseHolder, type FerryDatabase, type LeaseOwner,
} from '@ferry/common/db';
import { createTestDatabase, type TestDatabase } from '../../support/db';

describe('service leases on Postgres', () => {
  let tdb: TestDatabase;
  let db: FerryDatabase;
  const owner = (pid: number): LeaseOwner => ({ token: randomUUID(), pid, machine: `machine-${pid}` });
  const report = (host: string) => ({ host, binary: 'ferry-compute', topic: 'compute', version: '0.1.0' });
  const key = (host: string) => ({ host, binary: 'ferry-compute' });

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = await openDatabase({ url: tdb.url, stateDir: mkdtempSync(join(tmpdir(), 'ferry-leases-')), poolSize: 8 });
    await migrate(db.dataSource);
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });

  it('lets exactly one of several processes claiming a host at once win', async () => {
    const owners = [1, 2, 3, 4, 5, 6].map(owner);
    const won = await Promise.all(owners.map((o) => claimServiceLease(db.dataSource, report('race'), o, 30)));
    expect(won.filter(Boolean)).toHaveLength(1);
    const winner = owners[won.indexOf(true)]!;
    expect(await serviceLeaseHolder(db.dataSource, key('race'))).toMatchObject({ pid: winner.pid, machine: winner.machine });
    const holder = (await serviceLeaseHolder(db.dataSource, key('race')))!;
    expect(holder.expires_in_s).toBeGreaterThan(25);
    expect(holder.expires_in_s).toBeLessThanOrEqual(30);
    expect(holder.heartbeat_age_s).toBeLessThan(5);
  });

  it('claims a row an older heartbeat wrote without a lease', async () => {
    await recordHeartbeat(db.dataSource, report('old'));
    expect(await claimServiceLease(db.dataSource, report('old'), owner(1), 30)).toBe(true);
  });

  it('renews only for its owner; release frees the host at once, and only the owner can release', async () => {
    const a = owner(10);
    const b = owner(11);
    expect(await claimServiceLease(db.dataSource, report('h'), a, 30)).toBe(true);
    expect(await renewServiceLease(db.dataSource, report('h'), a, 30)).toBe(true);
    expect(await renewServiceLease(db.dataSource, report('h'), b, 30)).toBe(false);
    await releaseServiceLease(db.dataSource, key('h'), b);
    expect(await claimServiceLease(db.dataSource, report('h'), b, 30)).toBe(false);
    await releaseServiceLease(db.dataSource, key('h'), a);
    expect(await serviceLeaseHolder(db.dataSource, key('h'))).toBeUndefined();
    expect(await claimServiceLease(db.dataSource, report('h'), b, 30)).toBe(true);
    // a gave the lease up and b holds it now: a's renewal must not take it back.
    expect(await renewServiceLease(db.dataSource, report('h'), a, 30)).toBe(false);
  });

  it('hands an expired lease to a new owner, after which the old owner cannot renew it', async () => {
    const stalled = owner(20);
    const next = owner(21);
    expect(await claimServiceLease(db.dataSource, report('x'), stalled, 1)).toBe(true);
    expect(await claimServiceLease(db.dataSource, report('x'), next, 1)).toBe(false);
    await new Promise((r) => setTimeout(r, 1_200));
    expect(await serviceLeaseHolder(db.dataSource, key('x'))).toBeUndefined();
    // Expired but not taken: its owner may still renew it.
    expect(await renewServiceLease(db.dataSource, report('x'), stalled, 1)).toBe(true);
    await new Promise((r) => setTimeout(r, 1_200));
    expect(await claimServiceLease(db.dataSource, report('x'), next, 30)).toBe(true);
    expect(await renewServiceLease(db.dataSource, report('x'), stalled, 1)).toBe(false);
  });

  it('writes a deleted row anew on renewal, still held by its owner', async () => {
    const a = owner(30);
    expect(await claimServiceLease(db.dataSource, report('gone'), a, 30)).toBe(true);
    await db.dataSource.query(`DELETE FROM services WHERE host = 'gone'`);
    expect(await renewServiceLease(db.dataSource, report('gone'), a, 30)).toBe(true);
    expect(await serviceLeaseHolder(db.dataSource, key('gone'))).toMatchObject({ pid: 30 });
  });

  it('renews many leases in one statement, each only for the owner holding it', async () => {
    const held = [owner(40), owner(41)];
    const taken = owner(42);
    const thief = owner(43);
    await Promise.all(['b1', 'b2'].map((h, i) => claimServiceLease(db.dataSource, report(h), held[i]!, 30)));
    expect(await claimServiceLease(db.dataSource, report('b3'), taken, 1)).toBe(true);
    await new Promise((r) => setTimeout(r, 1_200));
    expect(await claimServiceLease(db.dataSource, report('b3'), thief, 30)).toBe(true);
    const [{ count: before }] = (await db.dataSource.query(`SELECT report_count AS count FROM services WHERE host = 'b1'`)) as { count: number }[];
    const renewed = await renewServiceLeases(db.dataSource, [
      ...['b1', 'b2'].map((h, i) => ({ ...key(h), owner: held[i]!.token, leaseSeconds: 60 })),
      { ...key('b3'), owner: taken.token, leaseSeconds: 60 },
      { ...key('never-claimed'), owner: randomUUID(), leaseSeconds: 60 },
    ]);
    expect([...renewed].sort()).toEqual([held[0]!.token, held[1]!.token].sort());
    const rows = (await db.dataSource.query(
      `SELECT host, report_count, extract(epoch FROM lease_expires_at - now())::float8 AS left_s FROM services WHERE host IN ('b1', 'b3') ORDER BY host`,
    )) as { host: string; report_count: number; left_s: number }[];
    expect(rows[0]).toMatchObject({ host: 'b1', report_count: before + 1 });
    expect(rows[0]!.left_s).toBeGreaterThan(55);
    // The lease taken meanwhile stays the thief's, as it was.
    expect(rows[1]!.left_s).toBeLessThanOrEqual(30);
    expect(await serviceLeaseHolder(db.dataSource, key('b3'))).toMatchObject({ pid: 43 });
    expect(await renewServiceLeases(db.dataSource, [])).toEqual(new Set());
  });
});
