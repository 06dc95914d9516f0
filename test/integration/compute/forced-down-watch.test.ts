// The self-fences of every host of a process share their reads of forced_down, and still see a force-down in time.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate, openDatabase, recordHeartbeat, type FerryDatabase } from '@ferry/common/db';
import { COMPUTE_BINARY } from '@ferry/compute/client';
import { ForcedDownWatch } from '@ferry/compute';
import { SqlCounter } from '../../bench/support/sql-counter';
import { createTestDatabase, type TestDatabase } from '../../support/db';

describe('forced-down watch', () => {
  let tdb: TestDatabase;
  let db: FerryDatabase;
  const counter = new SqlCounter();
  const hosts = Array.from({ length: 50 }, (_, i) => `watched-${i}`);

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = await openDatabase({ url: tdb.url, stateDir: mkdtempSync(join(tmpdir(), 'ferry-forced-')), poolSize: 4 });
    await migrate(db.dataSource);
    for (const host of hosts) await recordHeartbeat(db.dataSource, { host, binary: COMPUTE_BINARY, topic: 'compute', version: '0.1.0' });
    counter.install();
  });
  afterAll(async () => {
    counter.uninstall();
    await db?.close();
    await tdb?.drop();
  });

  it('answers every watched host from one read, and a force-down once the answer is older than asked', async () => {
    const watch = ForcedDownWatch.of(db.dataSource);
    const unwatch = hosts.map((h) => watch.watch(h));
    const before = counter.snapshot().selects;
    expect(await Promise.all(hosts.map((h) => watch.isForcedDown(h, 60_000)))).toEqual(hosts.map(() => false));
    expect(counter.snapshot().selects - before).toBe(1);

    await db.dataSource.query(`UPDATE services SET forced_down = true WHERE host = 'watched-7'`);
    // Within the age asked, the earlier read still answers; past it, a new read sees the force-down.
    expect(await watch.isForcedDown('watched-7', 60_000)).toBe(false);
    await new Promise((r) => setTimeout(r, 30));
    expect(await watch.isForcedDown('watched-7', 10)).toBe(true);
    expect(await watch.isForcedDown('watched-8', 60_000)).toBe(false);
    // A host that joins later is read at its first question, not answered from a read that did not cover it.
    await recordHeartbeat(db.dataSource, { host: 'late', binary: COMPUTE_BINARY, topic: 'compute', version: '0.1.0' });
    await db.dataSource.query(`UPDATE services SET forced_down = true WHERE host = 'late'`);
    const unwatchLate = watch.watch('late');
    expect(await watch.isForcedDown('late', 60_000)).toBe(true);
    for (const u of [...unwatch, unwatchLate]) u();
  });
});
