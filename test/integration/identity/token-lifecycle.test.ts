// Validation, revocation and expiry of tokens, through the identity API and the compute API's auth hook.
import { createHash } from 'node:crypto';
import { DbTokenValidator } from '../../../services/api/src/identity';
import { PASSWORDS, startIdentityHarness, type IdentityHarness } from './harness';

describe('identity: token validation, revocation and expiry', () => {
  let h: IdentityHarness;
  let adminToken: string;

  beforeAll(async () => {
    h = await startIdentityHarness();
    adminToken = (await h.issue('admin')).headers['x-subject-token']!;
  });
  afterAll(async () => {
    await h?.close();
  });

  const issue = async (user: 'admin' | 'demo') => {
    const res = await h.issue(user);
    expect(res.statusCode).toBe(201);
    return { id: res.headers['x-subject-token']!, body: res.json() };
  };
  const check = (method: 'GET' | 'HEAD' | 'DELETE', authToken: string | undefined, subject: string | undefined, query = '') =>
    h.request({
      method, url: `/identity/v3/auth/tokens${query}`,
      headers: { ...(authToken ? { 'x-auth-token': authToken } : {}), ...(subject ? { 'x-subject-token': subject } : {}) },
    });
  const whoami = (token: string) => h.request({ method: 'GET', url: '/compute/v2.1/whoami', headers: { 'x-auth-token': token } });

  it('validates a token with GET: the same body as at issue, and the subject echoed', async () => {
    const demo = await issue('demo');
    const res = await check('GET', adminToken, demo.id);
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-subject-token']).toBe(demo.id);
    expect(res.json()).toEqual(demo.body);
    const own = await check('GET', demo.id, demo.id, '?nocatalog');
    expect(own.statusCode).toBe(200);
    expect(own.json().token.catalog).toBeUndefined();
  });

  it('answers HEAD with 200 and no body', async () => {
    const demo = await issue('demo');
    const res = await check('HEAD', demo.id, demo.id);
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('');
    expect((await check('HEAD', demo.id, 'A'.repeat(43))).statusCode).toBe(404);
  });

  it('answers 401 without a valid X-Auth-Token, 404 for an invalid subject, 403 for another user\'s token', async () => {
    const demo = await issue('demo');
    expect((await check('GET', undefined, demo.id)).statusCode).toBe(401);
    expect((await check('GET', 'not-a-token', demo.id)).statusCode).toBe(401);
    expect((await check('GET', 'B'.repeat(43), demo.id)).statusCode).toBe(401);
    const missing = await check('GET', demo.id, 'C'.repeat(43));
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: { code: 404, message: 'Could not find token.', title: 'Not Found' } });
    expect((await check('GET', demo.id, 'junk')).statusCode).toBe(404);
    expect((await check('GET', demo.id, undefined)).statusCode).toBe(400);
    const forbidden = await check('GET', demo.id, adminToken);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().error.title).toBe('Forbidden');
  });

  it('lets the compute API identify the holder of a scoped token', async () => {
    const demo = await issue('demo');
    const res = await whoami(demo.id);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      user_id: demo.body.token.user.id, user_name: 'demo', project_id: demo.body.token.project.id, project_name: 'demo',
      roles: ['member', 'reader'], is_admin: false,
    });
    expect((await whoami(adminToken)).json()).toMatchObject({ is_admin: true, roles: ['admin', 'member', 'reader'] });
    expect((await whoami('D'.repeat(43))).statusCode).toBe(401);
  });

  it('gives an unscoped token nothing on the compute API', async () => {
    const res = await h.issue('demo', 'unscoped');
    const id = res.headers['x-subject-token']!;
    expect((await whoami(id)).statusCode).toBe(401);
    expect(await new DbTokenValidator(h.ds).validate(id)).toBeUndefined();
    expect((await check('GET', id, id)).statusCode).toBe(200);
  });

  it('revokes with DELETE: 204, then 404, and the compute API refuses it at once though it was cached', async () => {
    const demo = await issue('demo');
    expect((await whoami(demo.id)).statusCode).toBe(200);
    const validator = new DbTokenValidator(h.ds);
    expect(await validator.validate(demo.id)).toBeDefined();

    const res = await check('DELETE', demo.id, demo.id);
    expect(res.statusCode).toBe(204);
    expect((await check('GET', adminToken, demo.id)).statusCode).toBe(404);
    expect((await whoami(demo.id)).statusCode).toBe(401);
    expect(await validator.validate(demo.id)).toBeUndefined();
    expect((await check('DELETE', adminToken, demo.id)).statusCode).toBe(404);
  });

  it('lets an admin revoke another user\'s token, but not a member', async () => {
    const demo = await issue('demo');
    const other = await issue('admin');
    expect((await check('DELETE', demo.id, other.id)).statusCode).toBe(403);
    expect((await check('DELETE', adminToken, demo.id)).statusCode).toBe(204);
    expect((await check('GET', other.id, other.id)).statusCode).toBe(200);
  });

  it('ends a token whose user lost the role on its project', async () => {
    const demo = await issue('demo');
    const projectId = demo.body.token.project.id as string;
    await h.ds.query(`DELETE FROM role_assignments WHERE project_id = $1`, [projectId]);
    try {
      expect((await check('GET', adminToken, demo.id)).statusCode).toBe(404);
    } finally {
      await h.ds.query(`INSERT INTO role_assignments (user_id, project_id, role) VALUES ($1, $2, 'member')`, [demo.body.token.user.id, projectId]);
    }
    expect((await check('GET', adminToken, demo.id)).statusCode).toBe(200);
  });

  it('stores only hashes: no token id or password anywhere in the database', async () => {
    const demo = await issue('demo');
    const tokens = await h.ds.query(`SELECT * FROM tokens`) as Record<string, unknown>[];
    const stored = tokens.find((t) => t.id_hash === createHash('sha256').update(demo.id).digest('hex'));
    expect(stored).toMatchObject({ audit_id: demo.body.token.audit_ids[0], revoked: false, project_id: demo.body.token.project.id });
    const users = await h.ds.query(`SELECT * FROM users`) as Record<string, unknown>[];
    for (const u of users) expect(u.password_hash).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    const dump = JSON.stringify({ tokens, users, all: await h.ds.query(`SELECT * FROM role_assignments, projects`) });
    for (const secret of [demo.id, adminToken, PASSWORDS.admin, PASSWORDS.demo]) expect(dump).not.toContain(secret);
  });

  it('never logs a token id or a password, and logs audit ids', async () => {
    const demo = await issue('demo');
    await check('GET', demo.id, demo.id);
    await check('DELETE', demo.id, demo.id);
    await h.issue('admin', undefined, 'wrong-password-7d1e');
    const logs = h.logs();
    for (const secret of [demo.id, adminToken, PASSWORDS.admin, PASSWORDS.demo, 'wrong-password-7d1e']) expect(logs).not.toContain(secret);
    expect(logs).toContain(demo.body.token.audit_ids[0]);
    expect(logs).toMatch(/authentication failed/);
  });
});

describe('identity: token expiry', () => {
  let h: IdentityHarness;

  beforeAll(async () => {
    h = await startIdentityHarness({ tokenTtlSeconds: 1 });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('stops validating a token once it expires, cached or not', async () => {
    const res = await h.issue('demo');
    const id = res.headers['x-subject-token']!;
    const { token } = res.json();
    expect(Date.parse(token.expires_at) - Date.parse(token.issued_at)).toBe(1000);
    const validator = new DbTokenValidator(h.ds);
    expect(await validator.validate(id)).toBeDefined();
    const headers = { 'x-auth-token': id, 'x-subject-token': id };
    expect((await h.request({ method: 'GET', url: '/identity/v3/auth/tokens', headers })).statusCode).toBe(200);

    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(token.expires_at) - Date.now()) + 50));
    expect(await validator.validate(id)).toBeUndefined();
    expect((await h.request({ method: 'GET', url: '/compute/v2.1/whoami', headers })).statusCode).toBe(401);
    expect((await h.request({ method: 'GET', url: '/identity/v3/auth/tokens', headers })).statusCode).toBe(401);
    const admin = (await h.issue('admin')).headers['x-subject-token']!;
    expect((await h.request({ method: 'GET', url: '/identity/v3/auth/tokens', headers: { 'x-auth-token': admin, 'x-subject-token': id } })).statusCode).toBe(404);
  });

  it('prunes a user\'s expired tokens when it issues them a new one', async () => {
    const first = await h.issue('demo');
    const userId = first.json().token.user.id;
    await new Promise((r) => setTimeout(r, 1100));
    await h.issue('demo');
    const rows = await h.ds.query(`SELECT count(*)::int AS n FROM tokens WHERE user_id = $1`, [userId]) as { n: number }[];
    expect(rows[0]!.n).toBe(1);
  });
});
