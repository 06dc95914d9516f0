// GET /servers and /servers/detail: project scope, filters, sorting and paging with links.
import pg from 'pg';
import type { Instance } from '@ferry/common/db';
import { ApiHarness, PUBLIC_URL } from './support';

/** The SQL statements this process sends while `run` runs, but the identity revision polls every API makes. */
async function statementsDuring(run: () => Promise<unknown>): Promise<string[]> {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  const seen: string[] = [];
  proto.query = function (this: unknown, ...args: unknown[]) {
    const q = args[0] as string | { text?: string };
    const text = typeof q === 'string' ? q : (q?.text ?? '');
    if (!text.includes('identity_revision')) seen.push(text.trim());
    return original.apply(this, args);
  };
  try {
    await run();
  } finally {
    proto.query = original;
  }
  return seen;
}

describe('GET /servers and /servers/detail', () => {
  let h: ApiHarness;
  const vm: Record<string, Instance> = {};

  beforeAll(async () => {
    h = await ApiHarness.start();
    const small = { id: 2, flavorid: '2', name: 'm1.small', vcpus: 1, memory_mb: 2048, root_gb: 20, ephemeral_gb: 0, swap: 0, extra_specs: {} };
    // Inserted in this order, so created_at orders them web-1 < web-2 < db-1 < stopped < rebooting.
    vm.web1 = await h.insertInstance({ display_name: 'web-1', system_metadata: { reservation_id: 'r-aaaaaaaa', tags: '["web","prod"]' } });
    vm.web2 = await h.insertInstance({ display_name: 'web-2', owner: 'carol', host: 'compute-2', system_metadata: { tags: '["web"]' } });
    vm.db1 = await h.insertInstance({ display_name: 'db-1', flavor: small, locked: true, locked_by: 'owner' });
    vm.stopped = await h.insertInstance({ display_name: 'stopped', vm_state: 'stopped', power_state: 4 });
    vm.rebooting = await h.insertInstance({ display_name: 'rebooting', task_state: 'rebooting' });
    vm.gone = await h.insertInstance({ display_name: 'gone', vm_state: 'deleted', deleted_at: new Date() });
    vm.bobs = await h.insertInstance({ display_name: 'web-bob', owner: 'bob' });
    vm.admins = await h.insertInstance({ display_name: 'admin-vm', owner: 'admin' });
  });
  afterAll(async () => {
    await h?.close();
  });

  const names = async (who: 'alice' | 'bob' | 'admin', query = '', version?: string) => {
    const res = await h.request(who, 'GET', `/servers/detail${query}`, { version });
    expect(res.status).toBe(200);
    return (res.body.servers as { name: string }[]).map((s) => s.name);
  };

  it('lists the caller project only, newest first; /servers gives id, name and links', async () => {
    expect(await names('alice')).toEqual(['rebooting', 'stopped', 'db-1', 'web-2', 'web-1']);
    expect(await names('bob')).toEqual(['web-bob']);
    expect(await names('admin')).toEqual(['admin-vm']);
    const summary = await h.request('alice', 'GET', '/servers');
    expect(summary.body).toEqual({ servers: expect.any(Array) });
    expect(summary.body.servers[0]).toEqual({
      id: vm.rebooting!.uuid, name: 'rebooting',
      links: [
        { rel: 'self', href: `${PUBLIC_URL}/compute/v2.1/servers/${vm.rebooting!.uuid}` },
        { rel: 'bookmark', href: `${PUBLIC_URL}/compute/servers/${vm.rebooting!.uuid}` },
      ],
    });
  });

  it('lists every project for an admin with all_tenants, optionally one project; members get a 403', async () => {
    expect(await names('admin', '?all_tenants=1')).toHaveLength(7);
    expect(await names('admin', '?all_tenants&tenant_id=p-two')).toEqual(['web-bob']);
    expect(await names('admin', '?all_tenants=0')).toEqual(['admin-vm']);
    const denied = await h.request('alice', 'GET', '/servers/detail?all_tenants=1');
    expect(denied).toMatchObject({ status: 403, body: { forbidden: { message: "Policy doesn't allow os_compute_api:servers:detail:get_all_tenants to be performed." } } });
    expect((await h.request('alice', 'GET', '/servers?all_tenants=True')).body.forbidden.message).toMatch(/servers:index:get_all_tenants/);
    expect((await h.request('admin', 'GET', '/servers?all_tenants=maybe')).status).toBe(400);
    // A member's tenant_id without all_tenants is ignored, as in Nova.
    expect(await names('alice', '?tenant_id=p-two')).toHaveLength(5);
  });

  it('filters by name (a regular expression), status, image, flavor, reservation and tags', async () => {
    expect(await names('alice', '?name=^web')).toEqual(['web-2', 'web-1']);
    expect(await names('alice', '?name=1$')).toEqual(['db-1', 'web-1']);
    expect(await names('alice', '?status=SHUTOFF')).toEqual(['stopped']);
    expect(await names('alice', '?status=REBOOT')).toEqual(['rebooting']);
    // ACTIVE is a vm_state's default status: it matches whatever the task (Nova's rule).
    expect(await names('alice', '?status=ACTIVE')).toEqual(['rebooting', 'db-1', 'web-2', 'web-1']);
    // So does a list holding any default status: SHUTOFF drops the task filter REBOOT alone would set.
    expect(await names('alice', '?status=SHUTOFF&status=REBOOT')).toHaveLength(5);
    expect(await names('alice', '?status=SHUTOFF&status=PAUSED')).toEqual(['stopped']);
    expect(await names('alice', '?flavor=2')).toEqual(['db-1']);
    expect(await names('alice', '?flavor=99')).toEqual([]);
    expect(await names('alice', `?image=${vm.web1!.image_ref}`)).toHaveLength(5);
    expect(await names('alice', '?reservation_id=r-aaaaaaaa')).toEqual(['web-1']);
    expect(await names('alice', '?ip=10.0.0.1')).toEqual([]);
    expect(await names('alice', '?tags=web', '2.26')).toEqual(['web-2', 'web-1']);
    expect(await names('alice', '?tags=web,prod', '2.26')).toEqual(['web-1']);
    expect(await names('alice', '?tags-any=prod,nothing', '2.26')).toEqual(['web-1']);
    expect(await names('alice', '?not-tags=web', '2.26')).toEqual(['rebooting', 'stopped', 'db-1']);
    expect(await names('alice', '?tags=web', '2.25')).toHaveLength(5);
    expect(await names('alice', '?locked=true', '2.73')).toEqual(['db-1']);
    expect(await names('alice', '?locked=false', '2.73')).toHaveLength(4);
    expect((await h.request('alice', 'GET', '/servers?locked=perhaps', { version: '2.73' })).status).toBe(400);
  });

  it('answers an unknown status with [] before 2.38 and 400 from 2.38; DELETED is for admins', async () => {
    expect(await names('alice', '?status=NOPE', '2.37')).toEqual([]);
    expect((await h.request('alice', 'GET', '/servers?status=NOPE', { version: '2.38' }))).toMatchObject({ status: 400, body: { badRequest: { message: 'Invalid status value' } } });
    expect((await h.request('alice', 'GET', '/servers?status=DELETED'))).toMatchObject({ status: 403, body: { forbidden: { message: 'Only administrators may list deleted instances' } } });
    expect(await names('admin', '?all_tenants=1&status=DELETED')).toEqual(['gone']);
  });

  it('gives admins host, deleted and other filters, and ignores them for members', async () => {
    expect(await names('admin', '?all_tenants=1&host=compute-2')).toEqual(['web-2']);
    expect(await names('alice', '?host=compute-2')).toHaveLength(5);
    expect(await names('admin', '?all_tenants=1&deleted=true')).toEqual(['gone']);
    expect(await names('alice', '?deleted=true')).toHaveLength(5);
    expect(await names('admin', `?all_tenants=1&uuid=${vm.bobs!.uuid}`)).toEqual(['web-bob']);
    expect(await names('admin', '?all_tenants=1&user_id=u-carol')).toEqual(['web-2']);
    expect(await names('admin', '?all_tenants=1&vm_state=stopped')).toEqual(['stopped']);
    // Joined-table fields are refused to admins, and silently dropped for members (Nova strips them first).
    expect((await h.request('admin', 'GET', '/servers?metadata=x'))).toMatchObject({ status: 400, body: { badRequest: { message: 'Invalid filter field: metadata.' } } });
    expect((await h.request('alice', 'GET', '/servers?metadata=x')).status).toBe(200);
  });

  it('includes deleted servers when changes-since (or, from 2.66, changes-before) is given', async () => {
    const since = new Date(vm.web2!.updated_at.getTime() - 1).toISOString();
    expect(await names('alice', `?changes-since=${since}`)).toEqual(['gone', 'rebooting', 'stopped', 'db-1', 'web-2']);
    const before = new Date(vm.web2!.updated_at.getTime() + 1).toISOString();
    expect(await names('alice', `?changes-before=${before}`, '2.66')).toEqual(['web-2', 'web-1']);
    expect((await h.request('alice', 'GET', `/servers?changes-since=${before}&changes-before=${since}`, { version: '2.66' })).body.badRequest.message)
      .toBe('The value of changes-since must be less than or equal to changes-before.');
    expect((await h.request('alice', 'GET', '/servers?changes-since=yesterday')).status).toBe(400);
  });

  it('refuses a malformed regular expression and, from 2.75, unknown parameters', async () => {
    expect((await h.request('alice', 'GET', '/servers?name=(unclosed')).status).toBe(400);
    // Valid for JavaScript, not for Postgres: still a 400, never a 500.
    expect((await h.request('alice', 'GET', `/servers?name=${encodeURIComponent('\\p{L}')}`)).status).toBe(400);
    expect((await h.request('alice', 'GET', '/servers?color=red', { version: '2.74' })).status).toBe(200);
    expect((await h.request('alice', 'GET', '/servers?color=red', { version: '2.75' }))).toMatchObject({
      status: 400, body: { badRequest: { message: "Additional properties are not allowed ('color' was unexpected)" } },
    });
  });

  it('sorts by the given keys and directions', async () => {
    expect(await names('alice', '?sort_key=display_name&sort_dir=asc')).toEqual(['db-1', 'rebooting', 'stopped', 'web-1', 'web-2']);
    expect(await names('alice', '?sort_key=vm_state&sort_dir=desc&sort_key=display_name&sort_dir=asc')).toEqual(['stopped', 'db-1', 'rebooting', 'web-1', 'web-2']);
    // Keys Nova ignores rather than refuse (until 2.75), then refuses.
    expect(await names('alice', '?sort_key=vcpus')).toHaveLength(5);
    expect((await h.request('alice', 'GET', '/servers?sort_key=vcpus', { version: '2.75' })).status).toBe(400);
    expect((await h.request('alice', 'GET', '/servers?sort_key=color')).status).toBe(400);
    expect((await h.request('alice', 'GET', '/servers?sort_dir=sideways')).body.badRequest.message).toBe("Invalid input received: Unknown sort direction, must be 'desc' or 'asc'");
    expect((await h.request('alice', 'GET', '/servers?sort_key=host')).body.forbidden.message).toBe('Only administrators can sort servers by host');
    expect(await names('admin', '?all_tenants=1&sort_key=host&sort_dir=desc&sort_key=display_name&sort_dir=asc')).toEqual(
      ['web-2', 'admin-vm', 'db-1', 'rebooting', 'stopped', 'web-1', 'web-bob'],
    );
  });

  it('pages with limit and marker, linking the next page while a page is full', async () => {
    const pages: string[][] = [];
    let url: string | undefined = '/servers/detail?limit=2&sort_key=display_name&sort_dir=asc';
    while (url) {
      const res = await h.request('alice', 'GET', url);
      expect(res.status).toBe(200);
      pages.push(res.body.servers.map((s: { name: string }) => s.name));
      const next = res.body.servers_links?.[0];
      if (next) {
        expect(next.rel).toBe('next');
        expect(next.href).toMatch(new RegExp(`^${PUBLIC_URL}/compute/v2.1/servers/detail\\?`));
        const u = new URL(next.href);
        expect(u.searchParams.get('limit')).toBe('2');
        expect(u.searchParams.get('marker')).toBe(res.body.servers[1].id);
        url = `/servers/detail${u.search}`;
      } else {
        url = undefined;
      }
    }
    expect(pages).toEqual([['db-1', 'rebooting'], ['stopped', 'web-1'], ['web-2']]);
    const summaries = await h.request('alice', 'GET', '/servers?limit=1');
    expect(summaries.body.servers_links[0].href).toMatch(new RegExp(`^${PUBLIC_URL}/compute/v2.1/servers\\?limit=1&marker=`));
  });

  it('pages by a marker that the filter does not match, and refuses unknown markers and bad limits', async () => {
    expect(await names('alice', `?status=ACTIVE&marker=${vm.stopped!.uuid}`)).toEqual(['db-1', 'web-2', 'web-1']);
    expect((await h.request('alice', 'GET', `/servers?marker=${vm.bobs!.uuid}`))).toMatchObject({ status: 400, body: { badRequest: { message: `marker [${vm.bobs!.uuid}] not found` } } });
    expect((await h.request('alice', 'GET', '/servers?marker=nope')).status).toBe(400);
    expect((await h.request('alice', 'GET', '/servers?limit=-1')).status).toBe(400);
    expect((await h.request('alice', 'GET', '/servers?limit=0')).body).toEqual({ servers: [] });
  });

  it('shows admins host fields in the detail list, members not', async () => {
    const admin = await h.request('admin', 'GET', '/servers/detail?all_tenants=1&name=web-2', { version: '2.16' });
    expect(admin.body.servers[0]).toMatchObject({ 'OS-EXT-SRV-ATTR:host': 'compute-2', host_status: 'UP' });
    expect(admin.body.servers[0]).not.toHaveProperty('server_groups');
    const member = await h.request('alice', 'GET', '/servers/detail?name=web-2', { version: '2.80' });
    expect(member.body.servers[0]).not.toHaveProperty('OS-EXT-SRV-ATTR:host');
    expect(member.body.servers[0]).not.toHaveProperty('host_status');
    expect(member.body.servers[0]).toMatchObject({ locked: false, tags: ['web'], description: null, locked_reason: null });
  });

  it("shows each server in its host's zone, and one on a host with no compute node in the zone it asked for", async () => {
    await h.ds.query(`UPDATE compute_nodes SET availability_zone = 'zone-b' WHERE host = 'compute-2'`);
    const lost = await h.insertInstance({ display_name: 'lost', host: 'nowhere', system_metadata: { requested_availability_zone: 'zone-x' } });
    try {
      const zones = Object.fromEntries((await h.request('alice', 'GET', '/servers/detail')).body.servers
        .map((s: Record<string, string>) => [s.name, s['OS-EXT-AZ:availability_zone']]));
      expect(zones).toMatchObject({ 'web-2': 'zone-b', 'web-1': 'nova', lost: 'zone-x' });
    } finally {
      await h.ds.query(`UPDATE compute_nodes SET availability_zone = 'nova' WHERE host = 'compute-2'`);
      await h.ds.query('DELETE FROM instances WHERE uuid = $1', [lost.uuid]);
    }
  });

  it('lists a server exactly as showing it does, times truncated as Nova prints them (listings format them in SQL, show in JS)', async () => {
    // Fractions of a second where truncating and rounding differ, and a server deleted at such an instant.
    const edge = await h.insertInstance({ display_name: 'edge-times', vm_state: 'error', launched_at: null });
    const gone = await h.insertInstance({ display_name: 'edge-gone', vm_state: 'deleted' });
    try {
      await h.ds.query(
        `UPDATE instances SET created_at = '2025-12-31 23:59:59.999999+00', updated_at = '2026-01-01 00:00:00.000999+02',
                              launched_at = CASE WHEN uuid = $2 THEN timestamptz '2026-01-01 10:20:30.0015+00' END,
                              deleted_at = CASE WHEN uuid = $2 THEN timestamptz '2026-02-03 04:05:06.789999+00' END
          WHERE uuid IN ($1, $2)`,
        [edge.uuid, gone.uuid],
      );
      await h.ds.query(
        `INSERT INTO instance_faults (instance_uuid, code, message, details, created_at)
         VALUES ($1, 409, 'older', 'x', '2026-01-01 00:00:00+00'), ($1, 500, 'boom', 'trace', '2026-01-02 03:04:05.9+00'),
                ($2, 400, 'gone wrong', 'why', '2026-02-01 00:00:00+00')`,
        [edge.uuid, gone.uuid],
      );
      for (const version of ['2.1', '2.47', '2.80']) {
        const [listed] = (await h.request('admin', 'GET', '/servers/detail?all_tenants=1&name=^edge-', { version })).body.servers as Record<string, unknown>[];
        const { server } = (await h.request('admin', 'GET', `/servers/${edge.uuid}`, { version })).body as { server: Record<string, unknown> };
        delete server.server_groups;
        expect(listed).toEqual(server);
        expect(listed).toMatchObject({
          created: '2025-12-31T23:59:59Z', updated: '2025-12-31T22:00:00Z', 'OS-SRV-USG:launched_at': null,
          fault: { code: 500, created: '2026-01-02T03:04:05Z', message: 'boom', details: 'trace' },
        });
        // A deleted server is listed (deleted=true) but not shown: its times are checked as Nova prints them.
        const [deleted] = (await h.request('admin', 'GET', '/servers/detail?all_tenants=1&deleted=true&name=^edge-', { version })).body.servers as Record<string, unknown>[];
        expect(deleted).toMatchObject({
          name: 'edge-gone', status: 'DELETED', created: '2025-12-31T23:59:59Z',
          'OS-SRV-USG:launched_at': '2026-01-01T10:20:30.001000', 'OS-SRV-USG:terminated_at': '2026-02-03T04:05:06.789000',
          fault: { code: 400, created: '2026-02-01T00:00:00Z', message: 'gone wrong', details: 'why' },
        });
      }
      // Its owner sees the latest fault without the details of a 500, as in show.
      const [owned] = (await h.request('alice', 'GET', '/servers/detail?name=^edge-')).body.servers as Record<string, unknown>[];
      expect(owned!.fault).toEqual({ code: 500, created: '2026-01-02T03:04:05Z', message: 'boom' });
      expect(owned).toEqual((await h.request('alice', 'GET', `/servers/${edge.uuid}`)).body.server);
    } finally {
      await h.ds.query('DELETE FROM instances WHERE uuid IN ($1, $2)', [edge.uuid, gone.uuid]);
    }
  });

  it('lists in one SQL statement, faults and zones included; admins from 2.16 add one for host states', async () => {
    const failed = await h.insertInstance({ display_name: 'failed', vm_state: 'error', host: 'compute-2' });
    try {
      await h.ds.query(`INSERT INTO instance_faults (instance_uuid, code, message) VALUES ($1, 400, 'no')`, [failed.uuid]);
      let body: { servers: { fault?: unknown }[] } = { servers: [] };
      const member = await statementsDuring(async () => {
        body = (await h.request('alice', 'GET', '/servers/detail', { version: '2.80' })).body;
      });
      expect(body.servers.filter((s) => s.fault)).toHaveLength(1);
      expect(member).toHaveLength(1);
      expect(await statementsDuring(() => h.request('admin', 'GET', '/servers/detail?all_tenants=1', { version: '2.15' }))).toHaveLength(1);
      expect(await statementsDuring(() => h.request('admin', 'GET', '/servers/detail?all_tenants=1', { version: '2.16' }))).toHaveLength(2);
    } finally {
      await h.ds.query('DELETE FROM instances WHERE uuid = $1', [failed.uuid]);
    }
  });
});
