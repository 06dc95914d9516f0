import { randomUUID } from 'node:crypto';
import type { Migration } from '@ferry/common/db';
import { call, compute, insertInstance, insertMigration, MEMBER_TOKEN, PUBLIC_URL, startApi, type ApiHarness } from './support';

let h: ApiHarness;
const m: Record<string, Migration> = {};
let i1: string;
let i2: string;

beforeAll(async () => {
  h = await startApi();
  i1 = (await insertInstance(h.ds, { host: 'compute-2' })).uuid;
  i2 = (await insertInstance(h.ds, { host: 'compute-2', project_id: 'other-project', user_id: 'other-user' })).uuid;
  const at = (day: number, hour = 0) => new Date(Date.UTC(2024, 0, day, hour));
  const rows: [string, Partial<Migration> & { instance_uuid: string }][] = [
    // A finished resize and a running live migration cannot both be open on one instance (one move at a time): the resize ended.
    ['resize', { instance_uuid: i1, migration_type: 'resize', status: 'reverted', source_compute: 'compute-1', dest_compute: 'compute-2', created_at: at(1), updated_at: at(1, 1) }],
    ['live', { instance_uuid: i1, migration_type: 'live-migration', status: 'running', source_compute: 'compute-2', dest_compute: 'compute-3', created_at: at(2), updated_at: at(2, 1) }],
    ['cold', { instance_uuid: i1, migration_type: 'migration', status: 'confirmed', source_compute: 'compute-3', dest_compute: 'compute-1', created_at: at(3), updated_at: at(3, 1) }],
    ['evacuation', { instance_uuid: i2, migration_type: 'evacuation', status: 'completed', source_compute: 'compute-1', dest_compute: 'compute-3', user_id: 'other-user', project_id: 'other-project', created_at: at(4), updated_at: at(4, 1) }],
    ['hidden', { instance_uuid: i1, migration_type: 'resize', status: 'confirmed', hidden: true, created_at: at(5), updated_at: at(5, 1) }],
    ['liveDone', { instance_uuid: i2, migration_type: 'live-migration', status: 'completed', source_compute: 'compute-1', dest_compute: 'compute-2', user_id: 'other-user', project_id: 'other-project', created_at: at(6), updated_at: at(6, 1) }],
    ['deleted', { instance_uuid: i1, migration_type: 'resize', status: 'error', created_at: at(7), updated_at: at(7, 1), deleted_at: at(7, 2) }],
    ['twinA', { instance_uuid: i2, migration_type: 'resize', status: 'error', source_compute: 'compute-2', dest_compute: 'compute-1', created_at: at(8), updated_at: at(8, 1) }],
    ['twinB', { instance_uuid: i2, migration_type: 'resize', status: 'reverted', source_compute: 'compute-2', dest_compute: 'compute-1', created_at: at(8), updated_at: at(8, 2) }],
  ];
  for (const [name, fields] of rows) m[name] = await insertMigration(h.ds, fields);
});
afterAll(async () => h?.close());

const list = (q = '', version?: string, token?: string) => call(h, 'GET', compute(`/os-migrations${q}`), { version, token });
const ids = (body: { migrations: { id: number }[] }) => body.migrations.map((x) => x.id);
const named = (...names: string[]) => names.map((n) => m[n]!.id);

describe('os-migrations shapes per microversion', () => {
  it('lists every visible migration in id order with Nova\'s 2.1 fields', async () => {
    const r = await list();
    expect(r.status).toBe(200);
    expect(ids(r.body)).toEqual(named('resize', 'live', 'cold', 'evacuation', 'liveDone', 'twinA', 'twinB'));
    expect(r.body.migrations[0]).toEqual({
      id: m.resize!.id, instance_uuid: i1, source_compute: 'compute-1', dest_compute: 'compute-2', source_node: 'compute-1', dest_node: 'compute-2',
      dest_host: '10.0.0.2', old_instance_type_id: 1, new_instance_type_id: 2, status: 'reverted',
      created_at: '2024-01-01T00:00:00.000000', updated_at: '2024-01-01T01:00:00.000000',
    });
    expect(r.body.migrations_links).toBeUndefined();
  });

  it('adds migration_type at 2.23, and links to in-progress live migrations', async () => {
    const r = await list('', '2.23');
    const byId = new Map(r.body.migrations.map((x: { id: number }) => [x.id, x]));
    expect(byId.get(m.resize!.id)).toMatchObject({ migration_type: 'resize' });
    expect(byId.get(m.resize!.id)).not.toHaveProperty('links');
    expect(byId.get(m.liveDone!.id)).not.toHaveProperty('links');
    expect(byId.get(m.live!.id)).toMatchObject({
      migration_type: 'live-migration',
      links: [
        { rel: 'self', href: `${PUBLIC_URL}/compute/v2.1/servers/${i1}/migrations/${m.live!.id}` },
        { rel: 'bookmark', href: `${PUBLIC_URL}/compute/servers/${i1}/migrations/${m.live!.id}` },
      ],
    });
    expect(byId.get(m.resize!.id)).not.toHaveProperty('uuid');
  });

  it('adds uuid and sorts newest first at 2.59, ties broken by id', async () => {
    const r = await list('', '2.59');
    expect(ids(r.body)).toEqual(named('twinB', 'twinA', 'liveDone', 'evacuation', 'cold', 'live', 'resize'));
    expect(r.body.migrations[0].uuid).toBe(m.twinB!.uuid);
    expect(r.body.migrations[0]).not.toHaveProperty('user_id');
  });

  it('adds user_id and project_id at 2.80', async () => {
    const r = await list(`?instance_uuid=${i2}`, '2.80');
    expect(r.body.migrations[0]).toMatchObject({ user_id: 'demo-user', project_id: 'demo-project' });
    expect(r.body.migrations.find((x: { id: number }) => x.id === m.evacuation!.id)).toMatchObject({ user_id: 'other-user', project_id: 'other-project' });
  });
});

describe('os-migrations filters', () => {
  it.each([
    ['host (either end)', '?host=compute-3', ['live', 'cold', 'evacuation']],
    ['source_compute', '?source_compute=compute-1', ['resize', 'evacuation', 'liveDone']],
    ['host over source_compute', '?host=compute-3&source_compute=compute-1', ['live', 'cold', 'evacuation']],
    ['status', '?status=completed', ['evacuation', 'liveDone']],
    ['migration_type', '?migration_type=live-migration', ['live', 'liveDone']],
    ['instance_uuid', `?instance_uuid=${'$i1'}`, ['resize', 'live', 'cold']],
    ['an instance_uuid in upper case', `?instance_uuid=${'$I1'}`, ['resize', 'live', 'cold']],
    ['several filters', '?migration_type=resize&status=error', ['twinA']],
    ['hidden=0', '?hidden=0&status=confirmed', ['cold']],
    ['hidden=1 (hidden records are never shown)', '?hidden=1', []],
    ['an instance_uuid that is no uuid', '?instance_uuid=nope', []],
    ['an unknown host', '?host=compute-9', []],
  ])('filters by %s', async (_label, rawQuery, expected) => {
    const q = rawQuery.replace('$i1', i1).replace('$I1', i1.toUpperCase());
    for (const version of ['2.1', '2.59']) {
      const r = await list(q, version);
      expect(r.status).toBe(200);
      expect([...ids(r.body)].sort((a, b) => a - b)).toEqual(named(...expected).sort((a, b) => a - b));
    }
  });

  it('filters by user_id and project_id from 2.80, a 400 between 2.59 and 2.79', async () => {
    expect(ids((await list('?project_id=other-project', '2.80')).body).sort()).toEqual(named('evacuation', 'liveDone').sort());
    expect(ids((await list('?user_id=other-user&migration_type=evacuation', '2.80')).body)).toEqual(named('evacuation'));
    const early = await list('?user_id=other-user', '2.79');
    expect(early.status).toBe(400);
    expect(early.body.badRequest.message).toBe("Additional properties are not allowed ('user_id' was unexpected)");
  });

  it('ignores unknown parameters before 2.59 and rejects them from 2.59', async () => {
    expect(ids((await list('?colour=red', '2.58')).body)).toHaveLength(7);
    expect((await list('?colour=red', '2.59')).status).toBe(400);
  });
});

describe('os-migrations paging (2.59)', () => {
  it('pages newest first with a next link to the last uuid until a short page', async () => {
    const first = await list('?limit=3', '2.59');
    expect(ids(first.body)).toEqual(named('twinB', 'twinA', 'liveDone'));
    expect(first.body.migrations_links).toEqual([{ rel: 'next', href: `${PUBLIC_URL}/compute/v2.1/os-migrations?limit=3&marker=${m.liveDone!.uuid}` }]);
    const second = await list(`?limit=3&marker=${m.liveDone!.uuid}`, '2.59');
    expect(ids(second.body)).toEqual(named('evacuation', 'cold', 'live'));
    const third = await list(`?limit=3&marker=${m.live!.uuid}`, '2.59');
    expect(ids(third.body)).toEqual(named('resize'));
    expect(third.body.migrations_links).toBeUndefined();
  });

  it('pages across two records created at the same instant', async () => {
    const first = await list('?limit=1', '2.59');
    expect(ids(first.body)).toEqual(named('twinB'));
    expect(ids((await list(`?limit=1&marker=${m.twinB!.uuid}`, '2.59')).body)).toEqual(named('twinA'));
  });

  it('keeps filters in the next link and applies them after the marker', async () => {
    const first = await list('?limit=1&source_compute=compute-1', '2.59');
    expect(ids(first.body)).toEqual(named('liveDone'));
    expect(first.body.migrations_links[0].href).toBe(`${PUBLIC_URL}/compute/v2.1/os-migrations?limit=1&source_compute=compute-1&marker=${m.liveDone!.uuid}`);
    expect(ids((await list(`?limit=5&source_compute=compute-1&marker=${m.liveDone!.uuid}`, '2.59')).body)).toEqual(named('evacuation', 'resize'));
  });

  it('accepts a hidden record as marker, answers [] to limit=0', async () => {
    expect(ids((await list(`?marker=${m.hidden!.uuid}`, '2.59')).body)).toEqual(named('evacuation', 'cold', 'live', 'resize'));
    expect((await list('?limit=0', '2.59')).body).toEqual({ migrations: [] });
  });

  it.each([
    ['an unknown uuid', randomUUID()],
    ['a non-uuid', 'not-a-uuid'],
    ['a deleted record', '$deleted'],
  ])('answers 400 to a marker that is %s', async (_label, raw) => {
    const marker = raw === '$deleted' ? m.deleted!.uuid : raw;
    const r = await list(`?marker=${marker}`, '2.59');
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ badRequest: { code: 400, message: `Marker ${marker} could not be found.` } });
  });

  it('answers 400 to a bad or repeated limit', async () => {
    expect((await list('?limit=-1', '2.59')).status).toBe(400);
    expect((await list('?limit=many', '2.59')).status).toBe(400);
    expect((await list('?limit=1&limit=2', '2.59')).status).toBe(400);
  });

  it('ignores paging before 2.59', async () => {
    const r = await list(`?limit=1&marker=${randomUUID()}`, '2.58');
    expect(r.status).toBe(200);
    expect(ids(r.body)).toHaveLength(7);
  });
});

describe('os-migrations changes-since and changes-before', () => {
  it('keeps records updated at or after changes-since (2.59)', async () => {
    expect(ids((await list('?changes-since=2024-01-06T01:00:00Z', '2.59')).body)).toEqual(named('twinB', 'twinA', 'liveDone'));
    // Naive times are UTC; offsets are honoured.
    expect(ids((await list('?changes-since=2024-01-06T01:00:00', '2.59')).body)).toEqual(named('twinB', 'twinA', 'liveDone'));
    expect(ids((await list('?changes-since=2024-01-06T02:00:00%2B01:00', '2.59')).body)).toEqual(named('twinB', 'twinA', 'liveDone'));
    expect(ids((await list('?changes-since=2024-01-06T01:00:00.000001Z', '2.59')).body)).toEqual(named('twinB', 'twinA'));
  });

  it('keeps records updated at or before changes-before (2.66), combined with changes-since', async () => {
    expect(ids((await list('?changes-before=2024-01-02T01:00:00Z', '2.66')).body)).toEqual(named('live', 'resize'));
    expect(ids((await list('?changes-since=2024-01-02T01:00:00Z&changes-before=2024-01-04T01:00:00Z', '2.66')).body)).toEqual(named('evacuation', 'cold', 'live'));
    expect(ids((await list('?changes-since=2024-01-03T01:00:00Z&changes-before=2024-01-03T01:00:00Z', '2.66')).body)).toEqual(named('cold'));
  });

  it('answers 400 when changes-before is earlier than changes-since', async () => {
    const r = await list('?changes-since=2024-01-05T00:00:00Z&changes-before=2024-01-04T00:00:00Z', '2.66');
    expect(r.status).toBe(400);
    expect(r.body.badRequest.message).toBe('The value of changes-since must be less than or equal to changes-before.');
  });

  it('answers 400 to a malformed time', async () => {
    for (const [q, version] of [['?changes-since=yesterday', '2.59'], ['?changes-since=2024-13-01', '2.59'], ['?changes-before=2024-02-30T00:00:00Z', '2.66']] as const) {
      const r = await list(q, version);
      expect(r.status).toBe(400);
      expect(r.body.badRequest.message).toMatch(/changes-(since|before).*date-time/);
    }
  });

  it('ignores changes-since before 2.59 and rejects changes-before before 2.66', async () => {
    expect(ids((await list('?changes-since=2030-01-01T00:00:00Z', '2.58')).body)).toHaveLength(7);
    const r = await list('?changes-before=2024-01-01T00:00:00Z', '2.65');
    expect(r.status).toBe(400);
    expect(r.body.badRequest.message).toBe("Additional properties are not allowed ('changes-before' was unexpected)");
  });
});

describe('os-migrations policy', () => {
  it('is admin only', async () => {
    const r = await list('', '2.80', MEMBER_TOKEN);
    expect(r.status).toBe(403);
    expect(r.body).toEqual({ forbidden: { code: 403, message: "Policy doesn't allow os_compute_api:os-migrations:index to be performed." } });
  });
});

describe('os-ferry-migrations (the records ferry migration shows)', () => {
  const ferry = (path = '', token?: string) => call(h, 'GET', compute(`/os-ferry-migrations${path}`), { token });

  it("lists what os-migrations lists (newest first, as from 2.59), with Nova's newest fields, the counters, phases and whether each is under way", async () => {
    const r = await ferry();
    expect(r.status).toBe(200);
    expect(ids(r.body)).toEqual(named('twinB', 'twinA', 'liveDone', 'evacuation', 'cold', 'live', 'resize'));
    const live = r.body.migrations.find((x: { id: number }) => x.id === m.live!.id);
    expect(live).toMatchObject({
      uuid: m.live!.uuid, migration_type: 'live-migration', status: 'running', user_id: expect.any(String), in_progress: true,
      memory_total: null, disk_total: null, phase_timings: {}, last_error: null, steer_request: null, migration_policy: null,
    });
    expect(r.body.migrations.filter((x: { in_progress: boolean }) => x.in_progress).map((x: { id: number }) => x.id)).toEqual(named('live'));
  });

  it("keeps the moves under way with in_progress, and takes os-migrations' filters", async () => {
    expect(ids((await ferry('?in_progress=true')).body)).toEqual(named('live'));
    expect(ids((await ferry('?in_progress=false&migration_type=resize')).body)).toEqual(named('twinB', 'twinA', 'resize'));
    expect(ids((await ferry(`?instance_uuid=${i2}&status=completed`)).body)).toEqual(named('liveDone', 'evacuation'));
    expect(ids((await ferry('?limit=2')).body)).toEqual(named('twinB', 'twinA'));
    const bad = await ferry('?colour=blue');
    expect(bad.status).toBe(400);
  });

  it('shows one move by id or uuid; a hidden, deleted or unknown one is a 404', async () => {
    expect((await ferry(`/${m.cold!.id}`)).body.migration).toMatchObject({ id: m.cold!.id, status: 'confirmed', in_progress: false });
    expect((await ferry(`/${m.cold!.uuid}`)).body.migration.id).toBe(m.cold!.id);
    for (const id of [String(m.hidden!.id), String(m.deleted!.id), '999999', randomUUID(), 'nonsense']) {
      const r = await ferry(`/${id}`);
      expect([id, r.status]).toEqual([id, 404]);
      expect(r.body.itemNotFound.message).toBe(`Migration ${id} could not be found.`);
    }
  });

  it('is refused to a non-admin', async () => {
    for (const path of ['', `/${m.live!.id}`]) {
      const r = await ferry(path, MEMBER_TOKEN);
      expect(r.status).toBe(403);
      expect(r.body.forbidden.message).toMatch(/os-ferry-migrations/);
    }
  });
});
