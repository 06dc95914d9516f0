// The identity reads clients make after authenticating: catalog, own projects, users, projects by id and name.
import { BASE_URL, startIdentityHarness, type IdentityHarness } from './harness';

describe('identity: catalog, projects and users', () => {
  let h: IdentityHarness;
  const tokens: Record<'admin' | 'demo' | 'unscoped', string> = { admin: '', demo: '', unscoped: '' };
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    h = await startIdentityHarness();
    for (const user of ['admin', 'demo'] as const) {
      const res = await h.issue(user);
      tokens[user] = res.headers['x-subject-token']!;
      ids[`user:${user}`] = res.json().token.user.id;
      ids[`project:${user}`] = res.json().token.project.id;
    }
    tokens.unscoped = (await h.issue('demo', 'unscoped')).headers['x-subject-token']!;
  });
  afterAll(async () => {
    await h?.close();
  });

  const get = (url: string, as: keyof typeof tokens | undefined) =>
    h.request({ method: 'GET', url: `/identity/v3${url}`, headers: as ? { 'x-auth-token': tokens[as] } : {} });

  it('serves the catalog of a scoped token, and refuses an unscoped one', async () => {
    const res = await get('/auth/catalog', 'demo');
    expect(res.statusCode).toBe(200);
    expect(res.json().catalog.map((s: { type: string }) => s.type)).toEqual(['identity', 'compute', 'image']);
    expect(res.json().links.self).toBe(`${BASE_URL}/identity/v3/auth/catalog`);
    expect((await get('/auth/catalog', 'unscoped')).statusCode).toBe(403);
    expect((await get('/auth/catalog', undefined)).statusCode).toBe(401);
  });

  it('lists the projects the caller has a role on, to an unscoped token too', async () => {
    for (const as of ['demo', 'unscoped'] as const) {
      const res = await get('/auth/projects', as);
      expect(res.statusCode).toBe(200);
      expect(res.json().projects).toEqual([expect.objectContaining({ id: ids['project:demo'], name: 'demo', domain_id: 'default', enabled: true, is_domain: false })]);
    }
    expect((await get('/auth/projects', 'admin')).json().projects.map((p: { name: string }) => p.name)).toEqual(['admin']);
    expect((await get('/auth/domains', 'demo')).json().domains).toEqual([]);
  });

  it('shows a user to themself and to an admin only', async () => {
    const self = await get(`/users/${ids['user:demo']}`, 'demo');
    expect(self.statusCode).toBe(200);
    expect(self.json().user).toMatchObject({ id: ids['user:demo'], name: 'demo', domain_id: 'default', enabled: true, default_project_id: ids['project:demo'] });
    expect(self.body).not.toMatch(/password_hash|scrypt/);
    expect((await get(`/users/${ids['user:demo']}`, 'admin')).statusCode).toBe(200);
    expect((await get(`/users/${ids['user:admin']}`, 'demo')).statusCode).toBe(403);
    expect((await get(`/users/${'0'.repeat(32)}`, 'admin')).statusCode).toBe(404);
    const projects = await get(`/users/${ids['user:demo']}/projects`, 'demo');
    expect(projects.json().projects.map((p: { name: string }) => p.name)).toEqual(['demo']);
  });

  it('lists and filters users for an admin, and refuses a member', async () => {
    const all = await get('/users', 'admin');
    expect(all.json().users.map((u: { name: string }) => u.name)).toEqual(['admin', 'demo']);
    expect(all.body).not.toMatch(/password_hash|scrypt/);
    expect((await get('/users?name=demo', 'admin')).json().users).toEqual([expect.objectContaining({ id: ids['user:demo'] })]);
    expect((await get('/users?enabled=false', 'admin')).json().users).toEqual([]);
    expect((await get('/users', 'demo')).statusCode).toBe(403);
  });

  it('lists and filters projects for an admin, and refuses a member', async () => {
    const all = await get('/projects', 'admin');
    expect(all.statusCode).toBe(200);
    expect(all.json().projects.map((p: { name: string }) => p.name)).toEqual(['admin', 'demo']);
    const byName = await get('/projects?name=demo', 'admin');
    expect(byName.json().projects).toEqual([expect.objectContaining({ id: ids['project:demo'], links: { self: `${BASE_URL}/identity/v3/projects/${ids['project:demo']}` } })]);
    expect((await get('/projects?name=nope', 'admin')).json().projects).toEqual([]);
    const denied = await get('/projects', 'demo');
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error).toMatchObject({ code: 403, title: 'Forbidden' });
  });

  it('shows a project to an admin and to a token scoped to it', async () => {
    expect((await get(`/projects/${ids['project:demo']}`, 'demo')).json().project.name).toBe('demo');
    expect((await get(`/projects/${ids['project:demo']}`, 'admin')).statusCode).toBe(200);
    expect((await get(`/projects/${ids['project:admin']}`, 'demo')).statusCode).toBe(403);
    const missing = await get('/projects/demo', 'admin');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.title).toBe('Not Found');
  });
});
