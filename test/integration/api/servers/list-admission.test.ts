// Server listings are built api_list_concurrency at a time, first come first served; other requests never wait behind
// them, and a listing that fails gives its turn back.
import pg from 'pg';
import { startAssembledApi, type AssembledApi } from '../../../support/assembled-api';

describe('server listing admission (api_list_concurrency 1)', () => {
  let api: AssembledApi;
  let admin: string;

  beforeAll(async () => {
    api = await startAssembledApi({ apiListConcurrency: 1 });
    admin = await api.login('admin');
  });
  afterAll(async () => {
    await api?.close();
  });

  const get = (path: string) => fetch(`${api.url}/compute/v2.1${path}`, { headers: { 'x-auth-token': admin } });

  /** Another session holding the instances table: a listing that reaches the database waits on its lock. */
  async function holdInstances(): Promise<{ waiting(): Promise<number>; release(): Promise<void> }> {
    const holder = new pg.Client({ connectionString: (api.db.dataSource.options as { url: string }).url });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE instances IN ACCESS EXCLUSIVE MODE');
    return {
      async waiting() {
        const { rows } = await holder.query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`);
        return Number(rows[0]!.n);
      },
      async release() {
        await holder.query('ROLLBACK');
        await holder.end();
      },
    };
  }

  async function until(check: () => Promise<boolean>, ms = 5_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`not reached within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('lets one listing reach the database at a time, answers them in the order they came, and serves other requests meanwhile', async () => {
    const lock = await holdInstances();
    const answered: string[] = [];
    let first: Promise<Response> | undefined;
    let second: Promise<Response> | undefined;
    try {
      first = get('/servers').then((r) => (answered.push('first'), r));
      await until(async () => (await lock.waiting()) === 1);
      second = get('/servers/detail').then((r) => (answered.push('second'), r));
      // Time enough for the second listing to reach the database, were it let through.
      await new Promise((r) => setTimeout(r, 300));
      expect(await lock.waiting()).toBe(1);
      // A request that is not a listing does not queue behind the one holding the turn.
      const flavors = await get('/flavors');
      expect(flavors.status).toBe(200);
      expect(answered).toEqual([]);
    } finally {
      await lock.release();
    }
    expect((await first!).status).toBe(200);
    expect((await second!).status).toBe(200);
    expect(answered).toEqual(['first', 'second']);
  });

  it('gives the turn back when a listing is refused: the next one is answered', async () => {
    const refused = await get(`/servers?name=${encodeURIComponent('(?<n>a)\\k<n>')}`);
    expect(refused.status).toBe(400);
    const next = await Promise.race([
      get('/servers/detail').then((r) => r.status),
      new Promise<string>((r) => setTimeout(() => r('still waiting after 5 s'), 5_000)),
    ]);
    expect(next).toBe(200);
  });
});
