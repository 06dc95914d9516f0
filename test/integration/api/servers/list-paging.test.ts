// Paging a large listing as Nova does: max_limit 1,000 (a larger limit is clamped), a next link while a page is full,
// markers that neither skip nor repeat servers created in the same instant, and each project seeing only its own.
import { ApiHarness, USERS } from './support';

const SERVERS = 1001;

describe('GET /servers paging past max_limit', () => {
  let h: ApiHarness;
  let ids: Set<string>;

  beforeAll(async () => {
    h = await ApiHarness.start();
    // One statement: every server has the same created_at, so only the uuid orders them.
    const rows: { uuid: string }[] = await h.ds.query(
      `INSERT INTO instances (uuid, display_name, project_id, user_id, host, node, flavor, image_ref, vm_state, power_state)
       SELECT gen_random_uuid(), 'many-' || g, $1, $2, 'compute-1', 'compute-1.local', '{"flavorid":"1","name":"m1.tiny"}'::jsonb,
              '00000000-0000-4000-8000-000000000001', 'active', 1
         FROM generate_series(1, $3) AS g RETURNING uuid`,
      [USERS.alice.project_id, USERS.alice.user_id, SERVERS],
    );
    ids = new Set(rows.map((r) => r.uuid));
  });
  afterAll(async () => {
    await h?.close();
  });

  const page = async (query: string, who: 'alice' | 'bob' | 'admin' = 'alice') => {
    const res = await h.request(who, 'GET', `/servers${query}`);
    expect(res.status).toBe(200);
    return res.body as { servers: { id: string }[]; servers_links?: { rel: string; href: string }[] };
  };

  it('serves at most 1,000 servers a page, with or without a larger limit, and links the rest', async () => {
    for (const query of ['', '?limit=5000']) {
      const first = await page(query);
      expect(first.servers).toHaveLength(1000);
      const next = new URL(first.servers_links![0]!.href);
      expect(next.searchParams.get('marker')).toBe(first.servers[999]!.id);
      expect(next.searchParams.get('limit')).toBe(query ? '5000' : null);
      const rest = await page(next.search);
      expect(rest.servers).toHaveLength(1);
      expect(rest.servers_links).toBeUndefined();
      expect(new Set([...first.servers, ...rest.servers].map((s) => s.id))).toEqual(ids);
    }
  });

  it('walks small pages over servers created in the same instant without skipping or repeating one', async () => {
    const seen: string[] = [];
    let query = '?limit=300';
    for (;;) {
      const body = await page(query);
      seen.push(...body.servers.map((s) => s.id));
      const next = body.servers_links?.[0];
      if (!next) break;
      query = new URL(next.href).search;
    }
    expect(seen).toHaveLength(SERVERS);
    expect(new Set(seen)).toEqual(ids);
  });

  it('shows none of them to another project, and refuses their ids as markers there', async () => {
    expect((await page('', 'bob')).servers).toEqual([]);
    // The first server in listing order, so that at least five come after it whatever the random uuids.
    const marker = (await page('?limit=1')).servers[0]!.id;
    expect(ids.has(marker)).toBe(true);
    expect(await h.request('bob', 'GET', `/servers?marker=${marker}`))
      .toMatchObject({ status: 400, body: { badRequest: { message: `marker [${marker}] not found` } } });
    expect((await page(`?all_tenants=1&limit=5&marker=${marker}`, 'admin')).servers).toHaveLength(5);
  });
});
