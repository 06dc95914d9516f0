// `ferry migration list|show|watch` from another process against a running `ferry up`: a live migration slowed to a
// few seconds is followed to its end by watch (one line per change off a terminal), then shown with its policy and
// phases and listed; watching when nothing is in flight says so; an unknown id is a usage error.
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually, runFerry, startFerry, tempStateDir, type FerryProcess } from '../../support/ferry-process';
import { fetchToken } from '../../support/tokens';

jest.setTimeout(120_000);

describe('ferry migration (against ferry up: embedded database, in-process bus)', () => {
  const state = tempStateDir();
  // 512 MiB of guest memory and 256 MiB written on its disk at 96 MiB/s: a block live migration of a few seconds.
  const env = {
    FERRY_STATE_DIR: state.dir, FERRY_API_PORT: '0', FERRY_UP_COMPUTES: '2', FERRY_DATABASE_URL: '', FERRY_TRANSPORT_URL: '',
    FERRY_FAKE_MIGRATION_BANDWIDTH: String(96 * 1024 * 1024),
  };
  let up: FerryProcess | undefined;
  let cliEnv: NodeJS.ProcessEnv;
  let api: <T>(method: string, path: string, body?: unknown) => Promise<{ status: number; body: T }>;

  beforeAll(async () => {
    up = startFerry(['up'], env);
    const [, url] = await up.waitFor(/API\s+(http:\/\/\S+)/, 60_000);
    await up.waitFor(/Ctrl-C/);
    cliEnv = { ...env, FERRY_PUBLIC_URL: url };
    const token = await fetchToken(url, 'admin', 'ferry-admin');
    api = async <T>(method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method, headers: { 'x-auth-token': token, 'openstack-api-version': 'compute 2.65', ...(body ? { 'content-type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
    };
  }, 90_000);

  afterAll(async () => {
    await up?.stop('SIGKILL');
    state.remove();
  });

  it('says so when nothing is in flight, and refuses an unknown id', async () => {
    const idle = await runFerry(['migration', 'watch'], cliEnv);
    expect([idle.code, idle.stdout, idle.stderr]).toEqual([0, 'no migration in flight\n', '']);
    const unknown = await runFerry(['migration', 'show', '999999'], cliEnv);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe('ferry: no migration 999999\n');
  });

  it('watches a live migration to its end, then shows it with its phases and lists it', async () => {
    const images = await api<{ images: { id: string }[] }>('GET', '/image/v2/images?name=cirros');
    const created = await api<{ server: { id: string } }>('POST', '/compute/v2.1/servers', {
      server: { name: 'watched', flavorRef: '1', imageRef: images.body.images[0].id, networks: 'none', metadata: { 'ferry:migration_policy:max_downtime_ms': '250' } },
    });
    expect(created.status).toBe(202);
    const id = created.body.server.id;
    const active = await eventually(async () => {
      const r = await api<{ server: Record<string, string> }>('GET', `/compute/v2.1/servers/${id}`);
      return r.body.server.status === 'ACTIVE' && r.body.server;
    }, 30_000, 100);
    const source = active['OS-EXT-SRV-ATTR:host']!;
    const dest = source === 'compute-1' ? 'compute-2' : 'compute-1';
    // The guest wrote 256 MiB of its 1 GiB disk: what a block migration moves (a sparse disk's holes are not moved).
    const disk = await open(join(state.dir, 'hosts', source, 'instances', id, 'disk'), 'r+');
    await disk.write(Buffer.alloc(256 * 1024 * 1024, 0x5a), 0, 256 * 1024 * 1024, 0);
    await disk.close();
    expect((await api('POST', `/compute/v2.1/servers/${id}/action`, { 'os-migrateLive': { host: dest, block_migration: 'auto' } })).status).toBe(202);
    const listed = await eventually(async () => (await api<{ migrations: { id: number }[] }>('GET', `/compute/v2.1/os-ferry-migrations?instance_uuid=${id}`)).body.migrations[0], 30_000, 100);
    const migrationId = String(listed.id);

    const watch = await runFerry(['migration', 'watch', migrationId, '--interval', '200'], cliEnv, 60_000);
    expect(watch.stderr).toBe('');
    expect(watch.code).toBe(0);
    const lines = watch.stdout.trim().split('\n');
    expect(lines.at(-1)).toMatch(new RegExp(`^\\S+ ${migrationId} live-migration ${id} ended completed$`));
    // Off a terminal, a line per change: the move was seen running, with bytes moved out of its 512 MiB of memory and
    // 256 MiB of disk data (block migration: the hosts do not share storage), at a rate.
    const running = lines.filter((l) => / running {2}\d+(\.\d)? [KMG]iB\/768\.0 MiB/.test(l));
    expect(running.length).toBeGreaterThan(1);
    expect(running.some((l) => / \d+\.\d MiB\/s {2}~\S+ (ms|s|min \d+ s) left$/.test(l))).toBe(true);
    expect(running.some((l) => / 0\.0 MiB\/s/.test(l))).toBe(false);

    const show = await runFerry(['migration', 'show', migrationId], cliEnv);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`  type:      live-migration\n  status:    completed\n  instance:  ${id}\n  hosts:     ${source} -> ${dest}\n`);
    expect(show.stdout).toMatch(/ {2}memory: {4}512\.0 MiB of 512\.0 MiB sent/);
    expect(show.stdout).toMatch(/ {2}disk: {6}256\.0 MiB of 256\.0 MiB sent/);
    // The policy it ran under: the server's downtime, the rest from the settings.
    expect(show.stdout).toContain([
      '  policy:',
      '    bandwidth           96 MiB/s        default',
      '    max downtime        250 ms          server (ferry:migration_policy:max_downtime_ms)',
      '    completion timeout  800 s per GiB   default',
      '    auto-converge       off             default',
      '    post-copy           off             default',
      '  phases:',
    ].join('\n'));
    // Each phase with when it started and how long it took; Perform with what the transfer reported.
    expect(show.stdout).toMatch(/\n {2}phases:\n {4}preparing +\S+ {2}\d+(\.\d)? m?s\n {4}perform +\S+ {2}\d+(\.\d)? m?s {2}.*iterations=\d+.*\n {4}finish_confirm +\S+ {2}\d+(\.\d)? m?s\n$/);

    const list = await runFerry(['migration', 'list', '--instance', id, '--json'], cliEnv);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ id: Number(migrationId), status: 'completed', in_progress: false, dest_compute: dest })]);
    const text = await runFerry(['migration', 'list', '--type', 'live-migration'], cliEnv);
    expect(text.stdout).toMatch(new RegExp(`^ID +TYPE +STATUS +INSTANCE +FROM +TO +MOVED +UPDATED\\n${migrationId} +live-migration +completed +${id} +${source} +${dest} +100%`));
  });
});
