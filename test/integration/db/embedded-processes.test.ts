import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Instance, embeddedSocketDir, openDatabase, type FerryDatabase } from '@ferry/common/db';

jest.setTimeout(120_000);

/** Starts a separate node process that owns the embedded database of stateDir; resolves with the row it wrote. */
function startOwner(stateDir: string): Promise<{ child: ChildProcess; uuid: string }> {
  const child = spawn(process.execPath, ['-r', join(__dirname, 'child', 'register-ts.js'), join(__dirname, 'child', 'embedded-owner.ts'), stateDir], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      const m = /ready (\S+)/.exec(d.toString());
      if (m) resolve({ child, uuid: m[1] });
    });
    child.once('exit', (code) => reject(new Error(`owner process exited (${code}): ${stderr}`)));
  });
}

describe('embedded database shared between processes', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'ferry-embedded-proc-'));
  let owner: ChildProcess | undefined;
  let db: FerryDatabase | undefined;

  afterAll(async () => {
    owner?.kill('SIGKILL');
    await db?.close();
  });

  it('is readable from another process while its owner runs, and survives the owner being killed', async () => {
    const started = await startOwner(stateDir);
    owner = started.child;

    // A plain Postgres client, as `ferry status` or psql in another terminal would connect.
    const other = new pg.Client({ host: embeddedSocketDir(stateDir), user: 'postgres', database: 'postgres' });
    await other.connect();
    const { rows } = await other.query('SELECT display_name FROM instances WHERE uuid = $1', [started.uuid]);
    expect(rows).toEqual([{ display_name: 'from-child' }]);
    await other.end();

    // openDatabase on the same state dir attaches to the owner's server instead of opening the files twice.
    const attached = await openDatabase({ stateDir });
    expect((await attached.dataSource.getRepository(Instance).findOneByOrFail({ uuid: started.uuid })).display_name).toBe('from-child');
    await attached.close();

    // A crash: the owner dies without removing its lock or socket; the next opener takes over the same data.
    const exited = new Promise((r) => owner!.once('exit', r));
    owner.kill('SIGKILL');
    await exited;
    owner = undefined;
    db = await openDatabase({ stateDir });
    expect((await db.dataSource.getRepository(Instance).findOneByOrFail({ uuid: started.uuid })).display_name).toBe('from-child');
  });
});
