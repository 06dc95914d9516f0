import { ADMIN_TOKEN, call, compute, MEMBER_TOKEN, PUBLIC_URL, startApi, type ApiHarness } from './support';

let h: ApiHarness;
beforeAll(async () => {
  h = await startApi();
});
afterAll(async () => h?.close());

const get = (path: string, version?: string, token = ADMIN_TOKEN) => call(h, 'GET', compute(path), { version, token });
const create = (flavor: Record<string, unknown>, version?: string, token = ADMIN_TOKEN) => call(h, 'POST', compute('/flavors'), { version, token, body: { flavor } });
let seq = 0;
const uniqueName = (prefix: string) => `${prefix}-${++seq}`;

describe('flavor views per microversion', () => {
  it('lists the classic flavors by id, name and links', async () => {
    const r = await get('/flavors');
    expect(r.status).toBe(200);
    expect(r.body.flavors.map((f: { name: string }) => f.name)).toEqual(expect.arrayContaining(['m1.tiny', 'm1.small', 'm1.medium', 'm1.large', 'm1.xlarge']));
    expect(r.body.flavors[0]).toEqual({
      id: '1', name: 'm1.tiny',
      links: [
        { rel: 'self', href: `${PUBLIC_URL}/compute/v2.1/flavors/1` },
        { rel: 'bookmark', href: `${PUBLIC_URL}/compute/flavors/1` },
      ],
    });
    expect(r.body.flavors_links).toBeUndefined();
  });

  it('shows the 2.1 detail: empty-string swap, no description or extra specs', async () => {
    const r = await get('/flavors/2');
    expect(r.status).toBe(200);
    expect(r.body.flavor).toEqual({
      id: '2', name: 'm1.small', ram: 2048, disk: 20, vcpus: 1, swap: '', rxtx_factor: 1,
      'OS-FLV-EXT-DATA:ephemeral': 0, 'OS-FLV-DISABLED:disabled': false, 'os-flavor-access:is_public': true,
      links: expect.any(Array),
    });
  });

  it('adds description at 2.55, extra_specs at 2.61 and an integer swap at 2.75', async () => {
    expect(Object.keys((await get('/flavors/1', '2.54')).body.flavor)).not.toContain('description');
    const at255 = (await get('/flavors/1', '2.55')).body.flavor;
    expect(at255).toMatchObject({ description: null, swap: '' });
    expect(at255.extra_specs).toBeUndefined();
    expect((await get('/flavors/1', '2.61')).body.flavor).toMatchObject({ extra_specs: {}, swap: '' });
    expect((await get('/flavors/1', '2.75')).body.flavor).toMatchObject({ extra_specs: {}, swap: 0 });
    expect((await get('/flavors', '2.55')).body.flavors[0]).toEqual({ id: '1', name: 'm1.tiny', description: null, links: expect.any(Array) });
    const detail = (await get('/flavors/detail', '2.61')).body.flavors;
    expect(detail.every((f: object) => 'extra_specs' in f && 'description' in f)).toBe(true);
  });

  it('answers 404 for an unknown flavor', async () => {
    const r = await get('/flavors/nope');
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ itemNotFound: { code: 404, message: 'Flavor nope could not be found.' } });
  });
});

describe('flavor list filters, sorting and paging', () => {
  it('filters by minRam and minDisk, and rejects non-integers', async () => {
    const r = await get('/flavors/detail?minRam=4096&minDisk=50');
    expect(r.body.flavors.map((f: { name: string }) => f.name)).toEqual(['m1.large', 'm1.xlarge']);
    const bad = await get('/flavors?minRam=big');
    expect(bad.status).toBe(400);
    expect(bad.body.badRequest.message).toBe('Invalid minRam filter [big]');
    expect((await get('/flavors?minDisk=1.5')).body.badRequest.message).toBe('Invalid minDisk filter [1.5]');
  });

  it('sorts by any of Nova\'s sort keys in either direction, and rejects others', async () => {
    const byRam = await get('/flavors/detail?sort_key=memory_mb&sort_dir=desc');
    const rams = byRam.body.flavors.map((f: { ram: number }) => f.ram);
    expect(rams).toEqual([...rams].sort((a, b) => b - a));
    const bad = await get('/flavors?sort_key=colour');
    expect(bad.status).toBe(400);
    expect(bad.body.badRequest.message).toMatch(/sort_key.*colour/);
    expect((await get('/flavors?sort_dir=up')).status).toBe(400);
  });

  it('pages with limit and marker, with a next link carrying the query', async () => {
    // minRam keeps out the small flavors other tests create.
    const first = await get('/flavors?limit=2&sort_key=name&minRam=512');
    expect(first.body.flavors.map((f: { name: string }) => f.name)).toEqual(['m1.large', 'm1.medium']);
    expect(first.body.flavors_links).toEqual([{ rel: 'next', href: `${PUBLIC_URL}/compute/v2.1/flavors?limit=2&sort_key=name&minRam=512&marker=3` }]);
    const second = await get('/flavors?limit=2&sort_key=name&minRam=512&marker=3');
    expect(second.body.flavors.map((f: { name: string }) => f.name)).toEqual(['m1.small', 'm1.tiny']);
    const last = await get('/flavors/detail?limit=2&sort_key=name&minRam=512&marker=1');
    expect(last.body.flavors.map((f: { name: string }) => f.name)).toEqual(['m1.xlarge']);
    expect(last.body.flavors_links).toBeUndefined();
    const detailLinks = (await get('/flavors/detail?limit=1')).body.flavors_links;
    expect(detailLinks[0].href).toBe(`${PUBLIC_URL}/compute/v2.1/flavors/detail?limit=1&marker=1`);
  });

  it('answers 400 to a bad limit or an unknown marker', async () => {
    const limit = await get('/flavors?limit=-1');
    expect(limit.status).toBe(400);
    expect(limit.body.badRequest.message).toMatch(/limit/);
    const marker = await get('/flavors?marker=nope');
    expect(marker.status).toBe(400);
    expect(marker.body.badRequest.message).toBe('marker [nope] not found');
    expect((await get('/flavors?limit=0')).body).toEqual({ flavors: [] });
  });

  it('ignores unknown query parameters before 2.75 and rejects them from 2.75', async () => {
    expect((await get('/flavors?colour=red', '2.74')).status).toBe(200);
    const r = await get('/flavors?colour=red', '2.75');
    expect(r.status).toBe(400);
    expect(r.body.badRequest.message).toBe("Additional properties are not allowed ('colour' was unexpected)");
  });

  it('shows admins public flavors by default, private ones on request, all with is_public=none', async () => {
    const priv = await create({ name: uniqueName('private'), ram: 64, vcpus: 1, disk: 0, 'os-flavor-access:is_public': false });
    expect(priv.status).toBe(200);
    const id = priv.body.flavor.id;
    const ids = async (q: string, token = ADMIN_TOKEN) => (await get(`/flavors${q}`, undefined, token)).body.flavors.map((f: { id: string }) => f.id);
    expect(await ids('')).not.toContain(id);
    expect(await ids('?is_public=false')).toEqual([id]);
    expect(await ids('?is_public=None')).toEqual(expect.arrayContaining([id, '1']));
    expect((await get('/flavors?is_public=maybe')).body.badRequest.message).toBe('Invalid is_public filter [maybe]');
    // A member never sees it, whatever is_public says, and cannot show it or page from it.
    expect(await ids('?is_public=false', MEMBER_TOKEN)).not.toContain(id);
    expect((await get(`/flavors/${id}`, undefined, MEMBER_TOKEN)).status).toBe(404);
    expect((await get(`/flavors?marker=${id}`, undefined, MEMBER_TOKEN)).status).toBe(400);
    expect((await get(`/flavors/${id}`)).status).toBe(200);
  });

  it('hides disabled flavors from members', async () => {
    const f = await create({ name: uniqueName('disabled'), ram: 64, vcpus: 1, disk: 0 });
    await h.ds.query('UPDATE flavors SET disabled = true WHERE flavorid = $1', [f.body.flavor.id]);
    const member = (await get('/flavors', undefined, MEMBER_TOKEN)).body.flavors.map((x: { id: string }) => x.id);
    expect(member).not.toContain(f.body.flavor.id);
    const admin = (await get('/flavors/detail')).body.flavors.find((x: { id: string }) => x.id === f.body.flavor.id);
    expect(admin['OS-FLV-DISABLED:disabled']).toBe(true);
  });
});

describe('creating, updating and deleting flavors', () => {
  it('creates a flavor with every field and answers its detail', async () => {
    const name = uniqueName('full');
    const r = await create({
      name, id: `${name}-id`, ram: '1024', vcpus: 2, disk: 10, 'OS-FLV-EXT-DATA:ephemeral': 5, swap: 512, rxtx_factor: '2.5',
      'os-flavor-access:is_public': 'true', description: 'a test flavor',
    }, '2.75');
    expect(r.status).toBe(200);
    expect(r.body.flavor).toEqual({
      id: `${name}-id`, name, ram: 1024, vcpus: 2, disk: 10, 'OS-FLV-EXT-DATA:ephemeral': 5, swap: 512, rxtx_factor: 2.5,
      'OS-FLV-DISABLED:disabled': false, 'os-flavor-access:is_public': true, description: 'a test flavor', extra_specs: {},
      links: [
        { rel: 'self', href: `${PUBLIC_URL}/compute/v2.1/flavors/${name}-id` },
        { rel: 'bookmark', href: `${PUBLIC_URL}/compute/flavors/${name}-id` },
      ],
    });
    expect((await get(`/flavors/${name}-id`, '2.75')).body).toEqual(r.body);
  });

  it('generates a uuid id when none (or null) is given, as the openstack CLI sends it', async () => {
    const r = await create({ name: uniqueName('auto'), id: null, ram: 64, vcpus: 1, disk: 0, 'OS-FLV-EXT-DATA:ephemeral': 0, swap: 0, rxtx_factor: 1.0, 'os-flavor-access:is_public': true });
    expect(r.status).toBe(200);
    expect(r.body.flavor.id).toMatch(/^[0-9a-f-]{36}$/);
    const numeric = await create({ name: uniqueName('numeric'), id: 4242, ram: 64, vcpus: 1, disk: 0 });
    expect(numeric.body.flavor.id).toBe('4242');
  });

  it('answers 409 when the name or the id is taken', async () => {
    const name = uniqueName('dup');
    expect((await create({ name, id: `${name}-a`, ram: 64, vcpus: 1, disk: 0 })).status).toBe(200);
    const byName = await create({ name, ram: 64, vcpus: 1, disk: 0 });
    expect(byName.status).toBe(409);
    expect(byName.body).toEqual({ conflictingRequest: { code: 409, message: `Flavor with name ${name} already exists.` } });
    const byId = await create({ name: `${name}-other`, id: `${name}-a`, ram: 64, vcpus: 1, disk: 0 });
    expect(byId.status).toBe(409);
    expect(byId.body.conflictingRequest.message).toBe(`Flavor with ID ${name}-a already exists.`);
  });

  it.each([
    ['no name', { ram: 64, vcpus: 1, disk: 0 }, "'name' is a required property"],
    ['no ram', { name: 'x', vcpus: 1, disk: 0 }, "'ram' is a required property"],
    ['a name with leading space', { name: ' padded', ram: 64, vcpus: 1, disk: 0 }, /name/],
    ['ram 0', { name: 'x', ram: 0, vcpus: 1, disk: 0 }, 'Invalid input for field/attribute ram. Value: 0. 0 is less than the minimum of 1'],
    ['ram "0"', { name: 'x', ram: '0', vcpus: 1, disk: 0 }, 'Invalid input received: ram must be >= 1'],
    ['ram not a number', { name: 'x', ram: 'lots', vcpus: 1, disk: 0 }, "Invalid input for field/attribute ram. Value: lots. 'lots' does not match '^[0-9]+$'"],
    ['fractional vcpus', { name: 'x', ram: 64, vcpus: 1.5, disk: 0 }, /vcpus.*not of type/],
    ['negative disk', { name: 'x', ram: 64, vcpus: 1, disk: -1 }, /disk.*minimum of 0/],
    ['swap above 2^31-1', { name: 'x', ram: 64, vcpus: 1, disk: 0, swap: 2 ** 31 }, /swap.*maximum/],
    ['rxtx_factor 0', { name: 'x', ram: 64, vcpus: 1, disk: 0, rxtx_factor: 0 }, /rxtx_factor/],
    ['rxtx_factor a word', { name: 'x', ram: 64, vcpus: 1, disk: 0, rxtx_factor: 'fast' }, /rxtx_factor/],
    ['is_public not a boolean', { name: 'x', ram: 64, vcpus: 1, disk: 0, 'os-flavor-access:is_public': 'perhaps' }, /os-flavor-access:is_public/],
    ['an id with leading space', { name: 'x', ram: 64, vcpus: 1, disk: 0, id: ' bad id' }, /id/],
    ['an unknown key', { name: 'x', ram: 64, vcpus: 1, disk: 0, colour: 'red' }, "Additional properties are not allowed ('colour' was unexpected)"],
    ['a description before 2.55', { name: 'x', ram: 64, vcpus: 1, disk: 0, description: 'too early' }, "Additional properties are not allowed ('description' was unexpected)"],
  ])('answers 400 to a flavor with %s', async (_label, flavor, message) => {
    const r = await create(flavor as Record<string, unknown>, '2.54');
    expect(r.status).toBe(400);
    expect(r.body.badRequest.code).toBe(400);
    if (typeof message === 'string') expect(r.body.badRequest.message).toBe(message);
    else expect(r.body.badRequest.message).toMatch(message);
  });

  it('answers 400 to a body that is not a flavor', async () => {
    expect((await call(h, 'POST', compute('/flavors'), { body: { flavour: {} } })).status).toBe(400);
    expect((await call(h, 'POST', compute('/flavors'), { body: [] })).status).toBe(400);
  });

  it('updates the description from 2.55 and not before', async () => {
    const f = await create({ name: uniqueName('desc'), ram: 64, vcpus: 1, disk: 0, description: 'old' }, '2.55');
    const id = f.body.flavor.id;
    const put = (body: unknown, version: string) => call(h, 'PUT', compute(`/flavors/${id}`), { version, body });
    const r = await put({ flavor: { description: 'new' } }, '2.55');
    expect(r.status).toBe(200);
    expect(r.body.flavor).toMatchObject({ id, description: 'new' });
    expect((await put({ flavor: { description: null } }, '2.61')).body.flavor).toMatchObject({ description: null, extra_specs: {} });
    expect((await put({ flavor: { description: 'x' } }, '2.54')).status).toBe(404);
    expect((await put({ flavor: { name: 'renamed' } }, '2.55')).status).toBe(400);
    expect((await put({ flavor: {} }, '2.55')).body.badRequest.message).toBe("'description' is a required property");
    expect((await call(h, 'PUT', compute('/flavors/nope'), { version: '2.55', body: { flavor: { description: 'x' } } })).status).toBe(404);
  });

  it('deletes a flavor with 202, then 404', async () => {
    const f = await create({ name: uniqueName('gone'), ram: 64, vcpus: 1, disk: 0 });
    const del = await call(h, 'DELETE', compute(`/flavors/${f.body.flavor.id}`));
    expect(del.status).toBe(202);
    expect(del.body).toBeUndefined();
    expect((await get(`/flavors/${f.body.flavor.id}`)).status).toBe(404);
    expect((await call(h, 'DELETE', compute(`/flavors/${f.body.flavor.id}`))).status).toBe(404);
  });
});

describe('flavor policy', () => {
  const forbidden = (rule: string) => ({ forbidden: { code: 403, message: `Policy doesn't allow os_compute_api:os-flavor-manage:${rule} to be performed.` } });

  it('lets members read flavors but not create, update or delete them', async () => {
    expect((await get('/flavors/detail', undefined, MEMBER_TOKEN)).status).toBe(200);
    const created = await create({ name: uniqueName('member'), ram: 64, vcpus: 1, disk: 0 }, undefined, MEMBER_TOKEN);
    expect(created.status).toBe(403);
    expect(created.body).toEqual(forbidden('create'));
    const update = await call(h, 'PUT', compute('/flavors/1'), { token: MEMBER_TOKEN, version: '2.55', body: { flavor: { description: 'x' } } });
    expect(update.body).toEqual(forbidden('update'));
    const del = await call(h, 'DELETE', compute('/flavors/1'), { token: MEMBER_TOKEN });
    expect(del.body).toEqual(forbidden('delete'));
    expect((await get('/flavors/1')).status).toBe(200);
  });

  it('answers 401 without a token', async () => {
    expect((await call(h, 'GET', compute('/flavors'), { token: null })).status).toBe(401);
  });
});
