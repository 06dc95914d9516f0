// queryPrepared: a named statement on each connection of a Postgres at a URL; an ordinary query on the embedded
// database, whose one PGlite session every connection shares (a name there would collide between connections).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, queryPrepared, type FerryDatabase } from '@ferry/common/db';
import { createTestDatabase, type TestDatabase } from '../../support/db';

// PGlite's first start runs initdb in WebAssembly: allow it time.
jest.setTimeout(120_000);

const PROBE = `SELECT name, $1::int AS n FROM pg_prepared_statements WHERE name = 'ferry_probe'`;

describe('queryPrepared', () => {
  let db: FerryDatabase | undefined;
  let tdb: TestDatabase | undefined;

  afterEach(async () => {
    await db?.close();
    await tdb?.drop();
    db = undefined;
    tdb = undefined;
  });

  it('prepares the statement once on each connection of a Postgres at a URL and answers every call', async () => {
    tdb = await createTestDatabase();
    db = await openDatabase({ url: tdb.url, stateDir: mkdtempSync(join(tmpdir(), 'ferry-prepared-')), poolSize: 3 });
    // More calls than connections, at once: every connection runs it, each under the name it prepared.
    const answers = await Promise.all(Array.from({ length: 12 }, (_, n) => queryPrepared<{ name: string; n: number }>(db!.dataSource, 'ferry_probe', PROBE, [n])));
    expect(answers).toEqual(Array.from({ length: 12 }, (_, n) => [{ name: 'ferry_probe', n }]));
  });

  it('runs an ordinary query on the embedded database, call after call', async () => {
    db = await openDatabase({ stateDir: mkdtempSync(join(tmpdir(), 'ferry-prepared-embedded-')) });
    for (const n of [1, 2, 3]) expect(await queryPrepared(db.dataSource, 'ferry_probe', PROBE, [n])).toEqual([]);
  });
});
