// Every service of a process beats in one statement per interval; each still keeps or loses its own lease.
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimServiceLease, migrate, openDatabase, serviceLeaseHolder, type FerryDatabase } from '@ferry/common/db';
import { silentLogger } from '@ferry/common/log';
import { livenessWrites } from '@ferry/common/metrics';
import { startHeartbeat, type Heartbeat } from '@ferry/common/service';
import { createTestDatabase, type TestDatabase } from '../../support/db';
import { waitUntil } from '../../bench/support/stats';

describe('heartbeat batch', () => {
  let tdb: TestDatabase;
  let db: FerryDatabase;
  const started: Heartbeat[] = [];
  const INTERVAL_MS = 200;

  const beat = async (host: string) => {
    const hb = await startHeartbeat({
      dataSource: db.dataSource, host, binary: 'ferry-compute', topic: 'compute', version: '0.1.0', intervalMs: INTERVAL_MS, leaseSeconds: 1, log: silentLogger(),
    });
    started.push(hb);
    return hb;
  };
  const reportCount = async (host: string): Promise<number> => {
    const rows = (await db.dataSource.query('SELECT report_count FROM services WHERE host = $1', [host])) as { report_count: number }[];
    return rows[0]?.report_count ?? 0;
  };

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = await openDatabase({ url: tdb.url, stateDir: mkdtempSync(join(tmpdir(), 'ferry-hb-batch-')), poolSize: 4 });
    await migrate(db.dataSource);
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((hb) => hb.stop()));
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });

  it('renews every service of the process with one statement per interval', async () => {
    const hosts = Array.from({ length: 20 }, (_, i) => `batch-${i}`);
    await Promise.all(hosts.map(beat));
    const writesBefore = (await livenessWrites()).heartbeat;
    const countsBefore = await Promise.all(hosts.map(reportCount));
    await waitUntil(async () => (await reportCount(hosts[0]!)) >= countsBefore[0]! + 5, 'five beats', 20_000);
    const counts = await Promise.all(hosts.map(reportCount));
    const writes = (await livenessWrites()).heartbeat - writesBefore;
    const beats = counts[0]! - countsBefore[0]!;
    // Every host renewed as often as the first (a beat may land between the two reads), in one statement per beat.
    for (const [i, c] of counts.entries()) expect(Math.abs(c - countsBefore[i]! - beats)).toBeLessThanOrEqual(1);
    expect(writes).toBeGreaterThanOrEqual(beats - 1);
    expect(writes).toBeLessThanOrEqual(beats + 1);
  });

  it('tells the one service whose lease another process took, while the others keep theirs', async () => {
    const kept = await beat('keeps');
    const robbed = await beat('robbed');
    // A stall past the lease: the row's lease expires and another process claims it between two beats.
    await db.dataSource.query(`UPDATE services SET lease_expires_at = now() - interval '1 second' WHERE host = 'robbed'`);
    const thief = { token: randomUUID(), pid: 99_999, machine: 'elsewhere' };
    expect(await claimServiceLease(db.dataSource, { host: 'robbed', binary: 'ferry-compute', topic: 'compute', version: '0.1.0' }, thief, 30)).toBe(true);
    const lost = await robbed.lost;
    expect(lost.name).toBe('ServiceLeaseLost');
    expect(await serviceLeaseHolder(db.dataSource, { host: 'robbed', binary: 'ferry-compute' })).toMatchObject({ pid: 99_999 });
    const at = kept.lastSucceededAt();
    await waitUntil(async () => kept.lastSucceededAt() > at, 'a later beat of the other service', 10_000);
  });

  it('writes anew the row of a service deleted meanwhile, and gives the lease up at stop', async () => {
    const hb = await beat('deleted');
    await db.dataSource.query(`DELETE FROM services WHERE host = 'deleted'`);
    await waitUntil(async () => (await reportCount('deleted')) > 0, 'the row written anew', 10_000);
    expect(await serviceLeaseHolder(db.dataSource, { host: 'deleted', binary: 'ferry-compute' })).toMatchObject({ pid: process.pid });
    started.splice(started.indexOf(hb), 1);
    await hb.stop();
    expect(await serviceLeaseHolder(db.dataSource, { host: 'deleted', binary: 'ferry-compute' })).toBeUndefined();
  });

  it('keeps beating for the others while one service\'s row is locked elsewhere, and for that one once it is free', async () => {
    const free = await beat('free-row');
    const stuck = await beat('stuck-row');
    const qr = db.dataSource.createQueryRunner();
    await qr.startTransaction();
    try {
      await qr.query(`SELECT 1 FROM services WHERE host = 'stuck-row' FOR UPDATE`);
      const freeAt = free.lastSucceededAt();
      const stuckAt = stuck.lastSucceededAt();
      await waitUntil(async () => free.lastSucceededAt() > freeAt + 3 * INTERVAL_MS, 'three beats of the other service', 10_000);
      expect(stuck.lastSucceededAt()).toBe(stuckAt);
    } finally {
      await qr.rollbackTransaction();
      await qr.release();
    }
    const at = stuck.lastSucceededAt();
    await waitUntil(async () => stuck.lastSucceededAt() > at, 'the freed service beating again', 10_000);
  });
});
