import { randomUUID } from 'node:crypto';
import { CIRROS_IMAGE_ID } from '@ferry/common/db';
import { call, MEMBER_PROJECT, MEMBER_TOKEN, PUBLIC_URL, startApi, type ApiHarness } from './support';

let h: ApiHarness;
const ids: Record<string, string> = {};

async function addImage(name: string, fields: Record<string, unknown> = {}, createdAt?: Date): Promise<string> {
  const id = randomUUID();
  await h.ds.query(
    `INSERT INTO images (id, name, disk_format, visibility, owner, size, protected, properties, created_at, deleted_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, COALESCE($9, now()), $10)`,
    [id, name, fields.disk_format ?? 'raw', fields.visibility ?? 'public', fields.owner ?? null, fields.size ?? 1024, fields.protected ?? false,
      JSON.stringify(fields.properties ?? {}), createdAt ?? null, fields.deleted_at ?? null],
  );
  return id;
}

beforeAll(async () => {
  h = await startApi();
  const day = (d: number) => new Date(Date.UTC(2025, 0, d));
  ids.alpha = await addImage('alpha', { size: 10 }, day(1));
  ids.beta = await addImage('beta', { size: 30, properties: { os_distro: 'debian' } }, day(2));
  ids.gamma = await addImage('gamma', { size: 20, protected: true }, day(3));
  ids.mine = await addImage('mine', { visibility: 'private', owner: MEMBER_PROJECT }, day(4));
  ids.theirs = await addImage('theirs', { visibility: 'private', owner: 'other-project' }, day(5));
  ids.community = await addImage('community', { visibility: 'community', owner: 'other-project' }, day(6));
  ids.hidden = await addImage('hidden', { properties: { os_hidden: 'true' } }, day(7));
  ids.deleted = await addImage('deleted', { deleted_at: day(8) }, day(8));
});
afterAll(async () => h?.close());

const get = (path: string, token?: string | null) => call(h, 'GET', `/image${path}`, { token });
const names = (body: { images: { name: string }[] }) => body.images.map((i) => i.name);

describe('image API version discovery', () => {
  it.each(['', '/', '/v2', '/v2/'])('answers GET /image%s without a token, as Glance does', async (path) => {
    const r = await get(path, null);
    expect(r.status).toBe(300);
    expect(r.body.versions[0]).toEqual({ id: 'v2.7', status: 'CURRENT', links: [{ rel: 'self', href: `${PUBLIC_URL}/image/v2/` }] });
    expect(r.body.versions.map((v: { id: string }) => v.id)).toEqual(['v2.7', 'v2.6', 'v2.5', 'v2.4', 'v2.3', 'v2.2', 'v2.1', 'v2.0']);
    expect(r.body.versions.slice(1).every((v: { status: string }) => v.status === 'SUPPORTED')).toBe(true);
  });

  it('requires a token for everything else', async () => {
    expect((await call(h, 'GET', '/image/v2/images', { token: null })).status).toBe(401);
    expect((await call(h, 'GET', `/image/v2/images/${CIRROS_IMAGE_ID}`, { token: null })).status).toBe(401);
  });
});

describe('GET /image/v2/images/{id}', () => {
  it('shows an image in Glance\'s shape, its properties at the top level', async () => {
    const r = await get(`/v2/images/${CIRROS_IMAGE_ID}`, MEMBER_TOKEN);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      id: CIRROS_IMAGE_ID, name: 'cirros', status: 'active', visibility: 'public', protected: false, os_hidden: false,
      checksum: null, os_hash_algo: null, os_hash_value: null, owner: null, size: 21430272, virtual_size: 117440512,
      min_ram: 0, min_disk: 0, disk_format: 'qcow2', container_format: 'bare',
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/), updated_at: expect.stringMatching(/Z$/),
      tags: [], self: `/v2/images/${CIRROS_IMAGE_ID}`, file: `/v2/images/${CIRROS_IMAGE_ID}/file`, schema: '/v2/schemas/image',
      os_distro: 'cirros', os_version: '0.6.2', hw_architecture: 'x86_64',
    });
  });

  it('answers 404 to unknown, malformed, deleted and other projects\' private images', async () => {
    for (const id of [randomUUID(), 'cirros', ids.deleted!]) expect((await get(`/v2/images/${id}`)).status).toBe(404);
    expect((await get(`/v2/images/${ids.theirs}`, MEMBER_TOKEN)).status).toBe(404);
    expect((await get(`/v2/images/${ids.theirs}`)).status).toBe(200);
    expect((await get(`/v2/images/${ids.mine}`, MEMBER_TOKEN)).status).toBe(200);
    expect((await get(`/v2/images/${ids.community}`, MEMBER_TOKEN)).status).toBe(200);
  });
});

describe('GET /image/v2/images', () => {
  it('lists what the caller may see, newest first, without hidden or others\' community images', async () => {
    const r = await get('/v2/images', MEMBER_TOKEN);
    expect(r.status).toBe(200);
    expect(names(r.body)).toEqual(['cirros', 'mine', 'gamma', 'beta', 'alpha']);
    expect(r.body.first).toBe('/v2/images');
    expect(r.body.schema).toBe('/v2/schemas/images');
    expect(r.body.next).toBeUndefined();
    expect(names((await get('/v2/images')).body)).toEqual(['cirros', 'theirs', 'mine', 'gamma', 'beta', 'alpha']);
  });

  it.each([
    ['name', '?name=beta', ['beta']],
    ['visibility', '?visibility=private', ['mine']],
    ['visibility=community', '?visibility=community', ['community']],
    ['visibility=all', '?visibility=all', ['cirros', 'community', 'mine', 'gamma', 'beta', 'alpha']],
    ['os_hidden', '?os_hidden=true', ['hidden']],
    ['protected', '?protected=true', ['gamma']],
    ['size range', '?size_min=15&size_max=30', ['gamma', 'beta']],
    ['a custom property', '?os_distro=debian', ['beta']],
    ['a tag (Ferry keeps none)', '?tag=x', []],
    ['owner', `?owner=${MEMBER_PROJECT}`, ['mine']],
    ['status', '?status=queued', []],
  ])('filters by %s', async (_label, q, expected) => {
    const r = await get(`/v2/images${q}`, MEMBER_TOKEN);
    expect(r.status).toBe(200);
    expect(names(r.body)).toEqual(expected);
  });

  it('sorts by sort_key/sort_dir or sort', async () => {
    expect(names((await get('/v2/images?sort_key=name&sort_dir=asc', MEMBER_TOKEN)).body)).toEqual(['alpha', 'beta', 'cirros', 'gamma', 'mine']);
    expect(names((await get('/v2/images?sort=size:desc,name:asc', MEMBER_TOKEN)).body)).toEqual(['cirros', 'mine', 'beta', 'gamma', 'alpha']);
  });

  it('pages with limit and marker, linking the next page relative to /v2 as Glance does', async () => {
    const first = await get('/v2/images?limit=2&sort_key=name&sort_dir=asc', MEMBER_TOKEN);
    expect(names(first.body)).toEqual(['alpha', 'beta']);
    expect(first.body.next).toBe(`/v2/images?limit=2&sort_key=name&sort_dir=asc&marker=${ids.beta}`);
    const second = await get(first.body.next, MEMBER_TOKEN);
    expect(names(second.body)).toEqual(['cirros', 'gamma']);
    const third = await get(second.body.next, MEMBER_TOKEN);
    expect(names(third.body)).toEqual(['mine']);
    expect(third.body.next).toBeUndefined();
    expect(third.body.first).toBe('/v2/images?limit=2&sort_key=name&sort_dir=asc');
  });

  it('pages with a mixed-direction sort', async () => {
    const all = names((await get('/v2/images?sort=size:desc,name:asc', MEMBER_TOKEN)).body);
    const seen: string[] = [];
    let next: string | undefined = '/v2/images?sort=size:desc,name:asc&limit=2';
    while (next) {
      const page: { body: { images: { name: string }[]; next?: string } } = await get(next, MEMBER_TOKEN);
      seen.push(...names(page.body));
      next = page.body.next;
    }
    expect(seen).toEqual(all);
  });

  it.each([
    ['a negative limit', '?limit=-1', 'limit param must be positive'],
    ['a non-integer limit', '?limit=ten', 'limit param must be an integer'],
    ['an unknown marker', `?marker=${'$missing'}`, /marker/],
    ['a marker the caller cannot see', `?marker=${'$theirs'}`, /marker/],
    ['an unknown sort key', '?sort_key=colour', /sort key/],
    ['a bad sort direction', '?sort_dir=sideways', /sort direction/],
    ['sort with sort_key', '?sort=name&sort_key=name', /cannot be combined/],
    ['a bad visibility', '?visibility=everyone', 'Invalid visibility value: everyone'],
    ['a bad boolean', '?protected=maybe', /protected/],
    ['a non-numeric size', '?size_min=big', /size_min/],
  ])('answers 400 to %s', async (_label, rawQuery, message) => {
    const q = rawQuery.replace('$missing', randomUUID()).replace('$theirs', ids.theirs!);
    const r = await get(`/v2/images${q}`, MEMBER_TOKEN);
    expect(r.status).toBe(400);
    if (typeof message === 'string') expect(r.body.badRequest.message).toBe(message);
    else expect(r.body.badRequest.message).toMatch(message);
  });

  it('serves 25 images a page by default, as Glance does', async () => {
    for (let i = 0; i < 25; i++) await addImage(`bulk-${String(i).padStart(2, '0')}`);
    const r = await get('/v2/images', MEMBER_TOKEN);
    expect(r.body.images).toHaveLength(25);
    expect(r.body.next).toMatch(/^\/v2\/images\?marker=/);
  });
});

describe('image schemas', () => {
  it('describes an image and a list of images', async () => {
    const image = await get('/v2/schemas/image');
    expect(image.body.name).toBe('image');
    expect(Object.keys(image.body.properties)).toEqual(expect.arrayContaining(['id', 'name', 'status', 'visibility', 'os_hidden', 'size', 'self', 'file', 'schema']));
    expect((await get('/v2/schemas/images')).body.name).toBe('images');
  });
});
