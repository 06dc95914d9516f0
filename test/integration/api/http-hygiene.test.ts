// The assembled API answers every kind of bad request with an OpenStack fault body and a 4xx, never a 5xx.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '@ferry/api';
import { loadConfig } from '@ferry/common/config';
import { CIRROS_IMAGE_ID, migrate, openDatabase, seed, type FerryDatabase } from '@ferry/common/db';
import { silentLogger } from '@ferry/common/log';
import { createTransport, type Transport } from '@ferry/common/rpc';
import { createTestDatabase, type TestDatabase } from '../../support/db';
import { tempStateDir } from '../../support/ferry-process';
import { fetchToken } from '../../support/tokens';

describe('API HTTP hygiene (the assembled app)', () => {
  const state = tempStateDir();
  let testDb: TestDatabase;
  let db: FerryDatabase;
  let transport: Transport;
  let app: FastifyInstance;
  let url: string;
  let token: string;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = await openDatabase({ url: testDb.url, stateDir: state.dir, log: silentLogger() });
    await migrate(db.dataSource);
    await seed(db.dataSource, { demoPassword: 'hygiene-demo' });
    transport = await createTransport({ url: `inproc://hygiene-${process.pid}` });
    app = buildApp({ config: loadConfig({}), db, transport, log: silentLogger(), publicUrl: () => url });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    token = await fetchToken(url, 'demo', 'hygiene-demo');
  });

  afterAll(async () => {
    await app?.close();
    await transport?.close();
    await db?.close();
    await testDb?.drop();
    state.remove();
  });

  const call = async (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) => {
    const res = await fetch(`${url}${path}`, { ...init, headers: { 'x-auth-token': token, ...init.headers } });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };

  it('serves the version document without a token, with the microversion range', async () => {
    const res = await fetch(`${url}/compute/v2.1/`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ version: { id: 'v2.1', min_version: '2.1', version: '2.80' } });
  });

  it('answers a missing or bad token with 401', async () => {
    expect((await fetch(`${url}/compute/v2.1/servers`)).status).toBe(401);
    const bad = await call('/compute/v2.1/servers', { headers: { 'x-auth-token': 'not-a-token' } });
    expect(bad.status).toBe(401);
    expect(bad.body).toEqual({ unauthorized: { code: 401, message: expect.any(String) } });
  });

  it('echoes the negotiated microversion with Vary', async () => {
    const res = await call('/compute/v2.1/servers', { headers: { 'openstack-api-version': 'compute 2.47' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('openstack-api-version')).toBe('compute 2.47');
    expect(res.headers.get('vary')).toMatch(/OpenStack-API-Version/);
    expect(res.headers.get('x-openstack-request-id')).toMatch(/^req-[0-9a-f-]{36}$/);
  });

  it.each([
    ['an out-of-range microversion', 'compute 2.81', 406],
    ['a malformed microversion', 'compute 2.x', 400],
  ])('answers %s (%s) with %i', async (_name, header, status) => {
    const res = await call('/compute/v2.1/servers', { headers: { 'openstack-api-version': header } });
    expect(res.status).toBe(status);
    expect(Object.values(res.body as object)[0]).toMatchObject({ code: status });
  });

  it('answers an unknown route with 404 itemNotFound', async () => {
    const res = await call('/compute/v2.1/no-such-thing');
    expect(res).toMatchObject({ status: 404, body: { itemNotFound: { code: 404 } } });
  });

  it('answers malformed JSON with 400 badRequest', async () => {
    const res = await call('/compute/v2.1/servers', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"server": ' });
    expect(res).toMatchObject({ status: 400, body: { badRequest: { code: 400, message: expect.stringMatching(/Malformed request body/) } } });
  });

  describe('an empty body sent as application/json (Nova reads it as no body)', () => {
    const json = { 'content-type': 'application/json' };

    it('is accepted over HTTP on requests that take no body', async () => {
      expect((await call('/compute/v2.1/servers', { headers: json })).status).toBe(200);
      expect((await call('/compute/v2.1/flavors/1', { headers: json })).status).toBe(200);
      // Past the body parser: the answers are the route's own (no such server; flavors are the admin's to delete).
      expect(await call(`/compute/v2.1/servers/${randomUUID()}`, { method: 'DELETE', headers: json, body: '' }))
        .toMatchObject({ status: 404, body: { itemNotFound: { code: 404 } } });
      expect(await call('/compute/v2.1/flavors/1', { method: 'DELETE', headers: json, body: '' }))
        .toMatchObject({ status: 403, body: { forbidden: { code: 403 } } });
    });

    it('is accepted through app.inject, charset and all', async () => {
      const res = await app.inject({
        method: 'DELETE', url: `/compute/v2.1/servers/${randomUUID()}`, payload: '',
        headers: { 'x-auth-token': token, 'content-type': 'application/json; charset=UTF-8' },
      });
      expect(res.statusCode).toBe(404);
      const get = await app.inject({ method: 'GET', url: '/compute/v2.1/flavors', headers: { 'x-auth-token': token, 'content-type': 'application/json' } });
      expect(get.statusCode).toBe(200);
    });

    it('is still refused with a 400 naming the problem where the route needs a body', async () => {
      const create = await call('/compute/v2.1/servers', { method: 'POST', headers: json, body: '' });
      expect(create.status).toBe(400);
      expect(create.body.badRequest.message).toMatch(/body/);
      const action = await call(`/compute/v2.1/servers/${randomUUID()}/action`, { method: 'POST', headers: json, body: '' });
      expect(action).toMatchObject({ status: 400, body: { badRequest: { message: 'Malformed request body' } } });
      const auth = await fetch(`${url}/identity/v3/auth/tokens`, { method: 'POST', headers: json, body: '' });
      expect(auth.status).toBe(400);
    });

    it('leaves malformed JSON a 400, on a DELETE too', async () => {
      const res = await call(`/compute/v2.1/servers/${randomUUID()}`, { method: 'DELETE', headers: json, body: '{' });
      expect(res).toMatchObject({ status: 400, body: { badRequest: { message: expect.stringMatching(/Malformed request body/) } } });
      const poisoned = await call('/compute/v2.1/servers', { method: 'POST', headers: json, body: '{"__proto__": {"x": 1}}' });
      expect(poisoned.status).toBe(400);
    });
  });

  it('answers an unknown body key with 400 naming it, and changes nothing', async () => {
    const res = await call('/compute/v2.1/servers', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ server: { name: 'x', flavorRef: '1', imageRef: 'cirros', colour: 'blue' } }),
    });
    expect(res.status).toBe(400);
    expect(res.body.badRequest.message).toMatch(/colour/);
    const [{ n }] = await db.dataSource.query('SELECT count(*)::int AS n FROM instances');
    expect(n).toBe(0);
  });

  it('answers an oversized body with 413', async () => {
    const res = await call('/compute/v2.1/servers', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ server: { name: 'x'.repeat(2 * 1024 * 1024) } }),
    });
    expect(res).toMatchObject({ status: 413, body: { overLimit: { code: 413 } } });
  });

  // Found by the route-table fuzzer (test/integration/api/fuzz): each was a 500, or a 4xx in fastify's own body.
  it.each([
    ['a NUL in a path parameter', '/compute/v2.1/flavors/%00'],
    ['a NUL in a query value', '/compute/v2.1/servers/detail?name=%00'],
    ['a NUL in an image id', '/image/v2/images/%00'],
  ])('answers %s with 400 badRequest, not a database error', async (_name, path) => {
    const res = await call(path);
    expect(res).toMatchObject({ status: 400, body: { badRequest: { code: 400, message: expect.stringMatching(/null character/) } } });
  });

  it('answers a NUL in a JSON string with 400 badRequest and creates nothing', async () => {
    const res = await call('/compute/v2.1/servers', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ server: { name: 'vm', flavorRef: '1', imageRef: CIRROS_IMAGE_ID, metadata: { k: 'v\u0000' } } }),
    });
    expect(res).toMatchObject({ status: 400, body: { badRequest: { code: 400 } } });
    const [{ n }] = await db.dataSource.query('SELECT count(*)::int AS n FROM instances');
    expect(n).toBe(0);
  });

  it('answers a NUL under /identity in Keystone\'s error shape', async () => {
    const res = await call('/identity/v3/projects/%00');
    expect(res).toMatchObject({ status: 400, body: { error: { code: 400, title: 'Bad Request', message: expect.stringMatching(/null character/) } } });
  });

  it.each([
    ['a path parameter past the router\'s limit', `/compute/v2.1/servers/${'y'.repeat(101)}`, 414, 'computeFault'],
    ['a path that is not percent-encoding', '/compute/v2.1/servers/%zz', 400, 'badRequest'],
  ])('answers %s with an OpenStack fault', async (_name, path, status, fault) => {
    const res = await call(path);
    expect(res).toMatchObject({ status, body: { [fault]: { code: status, message: expect.any(String) } } });
  });

  it.each([
    ['plain', `/identity/v3/users/${'y'.repeat(101)}`],
    ['percent-escaped', `/%69dentity/v3/projects/${'y'.repeat(101)}`],
  ])('answers a bad path under /identity (%s) in Keystone\'s error shape', async (_name, path) => {
    const res = await call(path);
    expect(res).toMatchObject({ status: 414, body: { error: { code: 414, title: expect.any(String), message: expect.any(String) } } });
  });
});
