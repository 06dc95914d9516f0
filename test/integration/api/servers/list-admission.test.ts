// Server listings are built api_list_concurrency at a time, first come first served; other requests never wait behind
// them, a listing that fails gives its turn back, and one whose client hung up while it waited is skipped.
import pg from 'pg';
import { processMetrics } from '@ferry/common/metrics';
import { startAssembledApi, type AssembledApi } from '../../../support/assembled-api';

describe('server listing admission (api_list_concurrency 1)', () => {
  let api: AssembledApi;
  let admin: string;

  beforeAll(async () => {
    // A listing filtered by a regular expression gives up after 300 ms: long enough to see who waits behind it.
    api = await startAssembledApi({ apiListConcurrency: 1, apiListTimeoutMs: 300 });
    admin = await api.login('admin');
  });
  afterAll(async () => {
    await api?.close();
  });

  const metric = async (name: string) => (await processMetrics.getSingleMetric(name)!.get()).values[0]?.value ?? 0;
  const abandoned = () => metric('ferry_api_listings_abandoned_total');
  const get = (path: string, signal?: AbortSignal) => fetch(`${api.url}/compute/v2.1${path}`, { headers: { 'x-auth-token': admin }, signal });

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
      await until(async () => (await metric('ferry_api_listings_waiting')) === 1);
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
    expect(await metric('ferry_api_listings_waiting')).toBe(0);
  });

  it('skips a listing whose client hung up while it waited, and counts it', async () => {
    const abandonedBefore = await abandoned();
    const lock = await holdInstances();
    try {
      // The first holds the turn, waiting on the lock until its 300 ms statement timeout answers 400.
      const first = get('/servers?name=first');
      await until(async () => (await lock.waiting()) === 1);
      const leaving = new AbortController();
      const second = get('/servers?name=second', leaving.signal).catch((err: Error) => err.name);
      await until(async () => (await metric('ferry_api_listings_waiting')) === 1);
      leaving.abort();
      expect(await second).toBe('AbortError');
      await until(async () => (await metric('ferry_api_listings_waiting')) === 0);
      const third = get('/servers');
      expect((await first).status).toBe(400);
      // The third takes the turn the second gave away, and waits on the lock.
      await until(async () => (await lock.waiting()) === 1);
      await lock.release();
      expect((await third).status).toBe(200);
    } finally {
      await lock.release().catch(() => undefined);
    }
    expect(await abandoned()).toBe(abandonedBefore + 1);
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
