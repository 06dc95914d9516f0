// Version discovery and token issue: what keystoneauth sees before and when it authenticates.
import { BASE_URL, type HttpReply, PASSWORDS, passwordAuth, projectScope, startIdentityHarness, type IdentityHarness } from './harness';

interface TokenBody {
  token: {
    methods: string[];
    user: { id: string; name: string; domain: { id: string; name: string }; password_expires_at: null };
    project?: { id: string; name: string; domain: { id: string; name: string } };
    roles?: { id: string; name: string }[];
    catalog?: { id: string; type: string; name: string; endpoints: { id: string; interface: string; region: string; region_id: string; url: string }[] }[];
    expires_at: string;
    issued_at: string;
    audit_ids: string[];
    is_domain?: boolean;
  };
}

describe('identity: version discovery and token issue', () => {
  let h: IdentityHarness;

  beforeAll(async () => {
    h = await startIdentityHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  const post = (payload: unknown) => h.request({ method: 'POST', url: '/identity/v3/auth/tokens', payload });
  const expectUnauthorized = (res: HttpReply) => {
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ error: { code: 401, message: 'The request you have made requires authentication.', title: 'Unauthorized' } });
    expect(res.headers['www-authenticate']).toBe(`Keystone uri="${BASE_URL}/identity"`);
    expect(res.headers['x-subject-token']).toBeUndefined();
  };

  it('answers GET /identity and /identity/ with 300 and the v3 version', async () => {
    for (const url of ['/identity', '/identity/']) {
      const res = await h.request({ method: 'GET', url });
      expect(res.statusCode).toBe(300);
      expect(res.json()).toEqual({
        versions: { values: [expect.objectContaining({ id: 'v3.14', status: 'stable', links: [{ rel: 'self', href: `${BASE_URL}/identity/v3/` }] })] },
      });
      expect(res.json().versions.values[0]['media-types']).toEqual([{ base: 'application/json', type: 'application/vnd.openstack.identity-v3+json' }]);
    }
  });

  it('answers GET /identity/v3 and /identity/v3/ with the one version', async () => {
    for (const url of ['/identity/v3', '/identity/v3/']) {
      const res = await h.request({ method: 'GET', url });
      expect(res.statusCode).toBe(200);
      expect(res.json().version).toMatchObject({ id: 'v3.14', status: 'stable', links: [{ rel: 'self', href: `${BASE_URL}/identity/v3/` }] });
    }
  });

  it('issues an admin token scoped by project name, with roles and a catalog', async () => {
    const before = Date.now();
    const res = await h.issue('admin');
    expect(res.statusCode).toBe(201);
    const id = res.headers['x-subject-token'] as string;
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const { token } = res.json<TokenBody>();
    expect(token.methods).toEqual(['password']);
    expect(token.user).toEqual({ id: expect.stringMatching(/^[0-9a-f]{32}$/), name: 'admin', domain: { id: 'default', name: 'Default' }, password_expires_at: null });
    expect(token.project).toEqual({ id: expect.stringMatching(/^[0-9a-f]{32}$/), name: 'admin', domain: { id: 'default', name: 'Default' } });
    expect(token.is_domain).toBe(false);
    expect(token.roles!.map((r) => r.name)).toEqual(['admin', 'member', 'reader']);
    expect(token.audit_ids).toEqual([expect.stringMatching(/^[A-Za-z0-9_-]{22}$/)]);
    expect(token.issued_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const ttl = Date.parse(token.expires_at) - Date.parse(token.issued_at);
    expect(ttl).toBe(h.config.tokenTtlSeconds * 1000);
    expect(Date.parse(token.issued_at)).toBeGreaterThanOrEqual(before - 1);

    const catalog = token.catalog!;
    expect(catalog.map((s) => [s.type, s.name]).sort()).toEqual([['compute', 'nova'], ['identity', 'keystone'], ['image', 'glance']]);
    const urls = Object.fromEntries(catalog.map((s) => [s.type, s.endpoints[0]!.url]));
    expect(urls).toEqual({ identity: `${BASE_URL}/identity/v3`, compute: `${BASE_URL}/compute/v2.1`, image: `${BASE_URL}/image` });
    for (const s of catalog) {
      expect(s.endpoints.map((e) => e.interface)).toEqual(['public', 'internal', 'admin']);
      for (const e of s.endpoints) expect(e).toMatchObject({ region: 'RegionOne', region_id: 'RegionOne', id: expect.stringMatching(/^[0-9a-f]{32}$/) });
    }
  });

  it('issues a demo token by user id and project id, with the member role', async () => {
    const { token: first } = (await h.issue('demo')).json<TokenBody>();
    const res = await post({
      auth: {
        identity: { methods: ['password'], password: { user: { id: first.user.id, password: PASSWORDS.demo } } },
        scope: { project: { id: first.project!.id } },
      },
    });
    expect(res.statusCode).toBe(201);
    const { token } = res.json<TokenBody>();
    expect(token.project!.name).toBe('demo');
    expect(token.roles!.map((r) => r.name)).toEqual(['member', 'reader']);
  });

  it('accepts the domain by id or by name in either case', async () => {
    for (const domain of [{ id: 'default' }, { name: 'default' }, { name: 'Default' }]) {
      const res = await post({
        auth: {
          identity: { methods: ['password'], password: { user: { name: 'demo', domain, password: PASSWORDS.demo } } },
          scope: { project: { name: 'demo', domain } },
        },
      });
      expect(res.statusCode).toBe(201);
    }
  });

  it('leaves the catalog out with ?nocatalog', async () => {
    const res = await h.issue('demo', undefined, undefined, '?nocatalog');
    expect(res.statusCode).toBe(201);
    expect(res.json<TokenBody>().token.catalog).toBeUndefined();
    expect(res.json<TokenBody>().token.roles).toBeDefined();
  });

  it('scopes to the default project without a scope, and issues an unscoped token on request', async () => {
    const implicit = (await h.issue('demo', null)).json<TokenBody>().token;
    expect(implicit.project!.name).toBe('demo');
    const res = await h.issue('demo', 'unscoped');
    expect(res.statusCode).toBe(201);
    const { token } = res.json<TokenBody>();
    expect(token.project).toBeUndefined();
    expect(token.roles).toBeUndefined();
    expect(token.catalog).toBeUndefined();
    expect(token.user.name).toBe('demo');
  });

  it('answers 401 in Keystone shape to a wrong password, an unknown user or domain', async () => {
    expectUnauthorized(await h.issue('admin', undefined, 'not-the-password'));
    expectUnauthorized(await post(passwordAuth('nobody', 'x', projectScope('admin'))));
    expectUnauthorized(await post({
      auth: { identity: { methods: ['password'], password: { user: { id: '0'.repeat(32), password: 'x' } } } },
    }));
    expectUnauthorized(await post({
      auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { name: 'Elsewhere' }, password: PASSWORDS.admin } } } },
    }));
  });

  it('answers 401 to an unknown project and to a project the user has no role on', async () => {
    expectUnauthorized(await h.issue('admin', projectScope('no-such-project')));
    expectUnauthorized(await h.issue('admin', { project: { id: 'f'.repeat(32) } }));
    expectUnauthorized(await h.issue('demo', projectScope('admin')));
  });

  it('answers 401 to unsupported methods and scopes', async () => {
    expectUnauthorized(await post({ auth: { identity: { methods: ['token'], token: { id: 'x' } } } }));
    expectUnauthorized(await h.issue('admin', { domain: { id: 'default' } }));
    expectUnauthorized(await h.issue('admin', { system: { all: true } }));
  });

  it('answers 401 to a disabled user', async () => {
    await h.ds.query(`UPDATE users SET enabled = false WHERE name = 'demo'`);
    try {
      expectUnauthorized(await h.issue('demo'));
    } finally {
      await h.ds.query(`UPDATE users SET enabled = true WHERE name = 'demo'`);
    }
  });

  it('answers 400 with a clear message to malformed bodies, never 500', async () => {
    const cases: [unknown, RegExp][] = [
      [{}, /'auth' is a required property/],
      [{ auth: {} }, /'identity' is a required property/],
      [{ auth: { identity: { methods: 'password' } } }, /field 'auth\/identity\/methods'/],
      [{ auth: { identity: { methods: [] } } }, /field 'auth\/identity\/methods'/],
      [{ auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { name: 'Default' }, password: 42 } } } } }, /field 'auth\/identity\/password\/user\/password': must be string/],
      [{ auth: { identity: { methods: ['password'] } } }, /'password' is a required property/],
      [passwordAuth('admin', PASSWORDS.admin, 42), /field 'auth\/scope': it is not valid under any of the given schemas/],
      [{ auth: { identity: { methods: ['password'], password: { user: { name: 'admin', password: 'x' } } } } }, /Expecting to find domain in user/],
      [{ auth: { identity: { methods: ['password'], password: { user: { password: 'x' } } } } }, /Expecting to find id or name in user/],
      [passwordAuth('admin', PASSWORDS.admin, { project: { name: 'admin' } }), /Expecting to find domain in project/],
      [[1, 2], /must be object/],
    ];
    for (const [payload, message] of cases) {
      const res = await post(payload);
      expect({ payload, status: res.statusCode }).toEqual({ payload, status: 400 });
      expect(res.json().error).toMatchObject({ code: 400, title: 'Bad Request', message: expect.stringMatching(message) });
    }
    const badJson = await h.request({ method: 'POST', url: '/identity/v3/auth/tokens', payload: '{"auth": ', headers: { 'content-type': 'application/json' } });
    expect(badJson.statusCode).toBe(400);
    expect(badJson.json().error.message).toMatch(/Malformed request body/);
  });

  it('answers unknown identity paths with a Keystone 404', async () => {
    const res = await h.request({ method: 'GET', url: '/identity/v3/regions' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: 404, message: expect.any(String), title: 'Not Found' } });
  });
});
