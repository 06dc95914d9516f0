import { call, compute, MEMBER_TOKEN, startApi, type ApiHarness } from './support';

let h: ApiHarness;
let flavorId: string;
let privateId: string;
beforeAll(async () => {
  h = await startApi();
  flavorId = (await call(h, 'POST', compute('/flavors'), { body: { flavor: { name: 'specs', ram: 64, vcpus: 1, disk: 0 } } })).body.flavor.id;
  privateId = (await call(h, 'POST', compute('/flavors'), { body: { flavor: { name: 'hidden', ram: 64, vcpus: 1, disk: 0, 'os-flavor-access:is_public': false } } })).body.flavor.id;
});
afterAll(async () => h?.close());

const specs = (id = flavorId) => compute(`/flavors/${id}/os-extra_specs`);

describe('flavor extra specs', () => {
  it('creates specs, answering the body as sent and storing numbers as strings', async () => {
    const r = await call(h, 'POST', specs(), { body: { extra_specs: { 'hw:cpu_policy': 'dedicated', 'quota:cpu_shares': 1024 } } });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ extra_specs: { 'hw:cpu_policy': 'dedicated', 'quota:cpu_shares': 1024 } });
    const list = await call(h, 'GET', specs(), { token: MEMBER_TOKEN });
    expect(list.body).toEqual({ extra_specs: { 'hw:cpu_policy': 'dedicated', 'quota:cpu_shares': '1024' } });
  });

  it('merges further specs and shows one key', async () => {
    await call(h, 'POST', specs(), { body: { extra_specs: { 'hw:cpu_policy': 'shared', 'hw:mem_page_size': 'large' } } });
    expect((await call(h, 'GET', `${specs()}/hw:cpu_policy`)).body).toEqual({ 'hw:cpu_policy': 'shared' });
    expect((await call(h, 'GET', `${specs()}/hw:mem_page_size`, { token: MEMBER_TOKEN })).body).toEqual({ 'hw:mem_page_size': 'large' });
  });

  it('embeds the specs in the flavor from 2.61', async () => {
    const f = await call(h, 'GET', compute(`/flavors/${flavorId}`), { version: '2.61' });
    expect(f.body.flavor.extra_specs).toMatchObject({ 'hw:cpu_policy': 'shared', 'quota:cpu_shares': '1024' });
    expect((await call(h, 'GET', compute(`/flavors/${flavorId}`), { version: '2.60' })).body.flavor.extra_specs).toBeUndefined();
  });

  it('updates one key, whose body must name the key of the path', async () => {
    const r = await call(h, 'PUT', `${specs()}/hw:cpu_policy`, { body: { 'hw:cpu_policy': 'dedicated' } });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ 'hw:cpu_policy': 'dedicated' });
    const mismatch = await call(h, 'PUT', `${specs()}/hw:cpu_policy`, { body: { 'hw:other': 'x' } });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.badRequest.message).toBe('Request body and URI mismatch');
    expect((await call(h, 'PUT', `${specs()}/a`, { body: { a: '1', b: '2' } })).status).toBe(400);
    expect((await call(h, 'PUT', `${specs()}/a`, { body: {} })).status).toBe(400);
  });

  it('deletes a key, then answers 404 for it', async () => {
    const del = await call(h, 'DELETE', `${specs()}/hw:mem_page_size`);
    expect(del.status).toBe(200);
    const again = await call(h, 'DELETE', `${specs()}/hw:mem_page_size`);
    expect(again.status).toBe(404);
    expect(again.body.itemNotFound.message).toBe(`Flavor ${flavorId} has no extra specs with key hw:mem_page_size.`);
    expect((await call(h, 'GET', `${specs()}/hw:mem_page_size`)).status).toBe(404);
  });

  it.each([
    ['an invalid key', { extra_specs: { 'bad/key': 'x' } }],
    ['a value over 255 characters', { extra_specs: { k: 'x'.repeat(256) } }],
    ['a boolean value', { extra_specs: { k: true } }],
    ['no extra_specs', { specs: { k: 'v' } }],
  ])('answers 400 to %s', async (_label, body) => {
    const r = await call(h, 'POST', specs(), { body });
    expect(r.status).toBe(400);
    expect(typeof r.body.badRequest.message).toBe('string');
  });

  it('keeps migration policy keys to values their knob accepts: a bad one is a 400 naming the key, and nothing is written', async () => {
    const good = await call(h, 'POST', specs(), { body: { extra_specs: { 'ferry:migration_policy:max_downtime_ms': 300, 'ferry:migration_policy:post_copy': 'true' } } });
    expect(good.status).toBe(200);
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ 'ferry:migration_policy:max_downtime_ms': '50' }, /ferry:migration_policy:max_downtime_ms must be an integer from 100 to 600000, not "50"/],
      [{ 'ferry:migration_policy:bandwidth_mib_s': 'fast', 'hw:x': 'y' }, /ferry:migration_policy:bandwidth_mib_s must be a number of MiB\/s/],
      [{ 'ferry:migration_policy:auto_converge': 'perhaps' }, /ferry:migration_policy:auto_converge must be true or false/],
      [{ 'ferry:migration_policy:downtime': '300' }, /ferry:migration_policy:downtime is not a migration policy key/],
    ];
    for (const [extraSpecs, message] of bad) {
      const r = await call(h, 'POST', specs(), { body: { extra_specs: extraSpecs } });
      expect([r.status, r.body.badRequest.message]).toEqual([400, expect.stringMatching(message)]);
    }
    const put = await call(h, 'PUT', `${specs()}/ferry:migration_policy:completion_timeout_s_per_gib`, { body: { 'ferry:migration_policy:completion_timeout_s_per_gib': -1 } });
    expect([put.status, put.body.badRequest.message]).toEqual([400, expect.stringMatching(/completion_timeout_s_per_gib must be an integer from 0 to 86400/)]);
    const stored = (await call(h, 'GET', specs())).body.extra_specs;
    expect(stored).toMatchObject({ 'ferry:migration_policy:max_downtime_ms': '300', 'ferry:migration_policy:post_copy': 'true' });
    expect(stored).not.toHaveProperty('hw:x');
    expect(stored).not.toHaveProperty('ferry:migration_policy:completion_timeout_s_per_gib');
  });

  it('answers 404 for the specs of an unknown flavor, and members for a private one', async () => {
    expect((await call(h, 'GET', specs('nope'))).status).toBe(404);
    expect((await call(h, 'POST', specs('nope'), { body: { extra_specs: { a: 'b' } } })).status).toBe(404);
    expect((await call(h, 'GET', specs(privateId))).status).toBe(200);
    expect((await call(h, 'GET', specs(privateId), { token: MEMBER_TOKEN })).status).toBe(404);
  });

  it('lets only admins write specs', async () => {
    const rule = (r: string) => `Policy doesn't allow os_compute_api:os-flavor-extra-specs:${r} to be performed.`;
    const create = await call(h, 'POST', specs(), { token: MEMBER_TOKEN, body: { extra_specs: { a: 'b' } } });
    expect(create.status).toBe(403);
    expect(create.body.forbidden.message).toBe(rule('create'));
    expect((await call(h, 'PUT', `${specs()}/a`, { token: MEMBER_TOKEN, body: { a: 'b' } })).body.forbidden.message).toBe(rule('update'));
    expect((await call(h, 'DELETE', `${specs()}/hw:cpu_policy`, { token: MEMBER_TOKEN })).body.forbidden.message).toBe(rule('delete'));
  });
});

describe('flavor access list', () => {
  it('is empty for a private flavor, absent for a public one, admin only', async () => {
    expect((await call(h, 'GET', compute(`/flavors/${privateId}/os-flavor-access`))).body).toEqual({ flavor_access: [] });
    const pub = await call(h, 'GET', compute(`/flavors/${flavorId}/os-flavor-access`));
    expect(pub.status).toBe(404);
    expect(pub.body.itemNotFound.message).toBe('Access list not available for public flavors.');
    expect((await call(h, 'GET', compute(`/flavors/${privateId}/os-flavor-access`), { token: MEMBER_TOKEN })).status).toBe(403);
  });
});
