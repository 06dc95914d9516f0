// Password guessing is slowed: Keystone-style lockout per user (shared through the database) and a budget of failed logins per address.
import { PASSWORDS, startIdentityHarness, type IdentityHarness } from './harness';

describe('identity: lockout after repeated failed logins', () => {
  let h: IdentityHarness;

  beforeAll(async () => {
    h = await startIdentityHarness({ lockoutFailureAttempts: 3, lockoutDurationSeconds: 2, loginFailuresPerAddress: 0 });
  });
  afterAll(async () => {
    await h?.close();
  });

  const failedCount = async (name: string) =>
    ((await h.ds.query('SELECT failed_auth_count FROM users WHERE name = $1', [name])) as { failed_auth_count: number }[])[0]!.failed_auth_count;

  it('locks a user out after N wrong passwords, even for the right one, and only that user', async () => {
    for (let i = 0; i < 3; i++) expect((await h.issue('demo', undefined, 'wrong-password')).statusCode).toBe(401);
    expect(await failedCount('demo')).toBe(3);
    const locked = await h.issue('demo');
    expect(locked.statusCode).toBe(401);
    expect(locked.json().error.message).toMatch(/^The account is locked for user: [0-9a-f]{32}\.$/);
    expect(h.logs()).toMatch(/locked out after 3 failed logins/);
    expect((await h.issue('admin')).statusCode).toBe(201);
  });

  it('lets the user in again once the lockout has run out, and forgets the failures', async () => {
    await new Promise((r) => setTimeout(r, 2_100));
    expect((await h.issue('demo')).statusCode).toBe(201);
    expect(await failedCount('demo')).toBe(0);
  });

  it('counts failures only within the window: old ones do not add up to a lockout', async () => {
    for (let i = 0; i < 2; i++) expect((await h.issue('admin', undefined, 'wrong-password')).statusCode).toBe(401);
    await new Promise((r) => setTimeout(r, 2_100));
    expect((await h.issue('admin', undefined, 'wrong-password')).statusCode).toBe(401);
    expect(await failedCount('admin')).toBe(1);
    expect((await h.issue('admin')).statusCode).toBe(201);
  });

  it('never logs the password that was tried', () => {
    expect(h.logs()).not.toContain('wrong-password');
    expect(h.logs()).not.toContain(PASSWORDS.demo);
  });
});

describe('identity: failed logins per client address', () => {
  let h: IdentityHarness;

  beforeAll(async () => {
    h = await startIdentityHarness({ lockoutFailureAttempts: 0, loginFailuresPerAddress: 4 });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers 429 with Retry-After once an address has used its failures for the minute, before checking any password', async () => {
    for (let i = 0; i < 4; i++) expect((await h.issue(i % 2 ? 'admin' : 'demo', undefined, 'wrong-password')).statusCode).toBe(401);
    const refused = await h.issue('demo');
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toEqual({ error: { code: 429, title: 'Too Many Requests', message: expect.stringMatching(/Too many failed logins from .*; retry in \d+ s\./) } });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
  });

  it('keeps users unlocked when only the address budget is in force', async () => {
    const rows = await h.ds.query('SELECT count(*)::int AS n FROM users WHERE failed_auth_count > 0') as { n: number }[];
    expect(rows[0]!.n).toBe(0);
  });
});
