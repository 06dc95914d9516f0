// A server listing's client-supplied filters are bounded: regular expressions by length, the query by a statement timeout.
import pg from 'pg';
import { startAssembledApi, type AssembledApi } from '../../../support/assembled-api';

describe('server listing limits', () => {
  let api: AssembledApi;
  let demo: string;

  beforeAll(async () => {
    api = await startAssembledApi({ apiListTimeoutMs: 300 });
    demo = await api.login('demo');
  });
  afterAll(async () => {
    await api?.close();
  });

  const list = async (query: string) => {
    const res = await fetch(`${api.url}/compute/v2.1/servers${query}`, { headers: { 'x-auth-token': demo } });
    return { status: res.status, body: await res.json() as Record<string, { code: number; message: string }> };
  };

  it('answers a name filter longer than 255 characters with 400 naming the parameter', async () => {
    expect((await list(`?name=${'a'.repeat(255)}`)).status).toBe(200);
    const res = await list(`?name=${'a'.repeat(256)}`);
    expect(res.status).toBe(400);
    expect(res.body.badRequest!.message).toMatch(/^Invalid input for query parameters name\..*Longer than 255 characters\.$/);
  });

  it('answers a listing that outlasts its statement timeout with 400, and the next one is served', async () => {
    // Another session holds the table: the listing waits on its lock until the timeout ends it.
    const holder = new pg.Client({ connectionString: (api.db.dataSource.options as { url: string }).url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE instances IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      const res = await list('?name=web');
      expect(res.status).toBe(400);
      expect(res.body.badRequest!.message).toBe('The server listing took longer than 300 ms; narrow the filters or lower the limit.');
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    expect((await list('?name=web')).status).toBe(200);
  });

  it('answers a pattern Postgres cannot compile with 400', async () => {
    const res = await list(`?name=${encodeURIComponent('(?<n>a)\\k<n>')}`);
    expect(res.status).toBe(400);
  });
});
