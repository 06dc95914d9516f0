// `ferry server cleanup ID` from another process against a running `ferry up`: a server moved by hand to another fake
// host is adopted there (exit 0, what was found and done), a second run has nothing to do, `--json` prints the API's
// report, and a copy started by hand beside the good one is refused (exit 1) with both hosts named.
import { CIRROS_IMAGE_ID, type InstanceFlavor } from '@ferry/common/db';
import { guestName } from '@ferry/common/domain';
import { type CleanupReport } from '@ferry/compute/cleanup';
import { induceFailureMode } from '@ferry/compute/drivers';
import { runFerry, startFerry, tempStateDir, type FerryProcess } from '../../support/ferry-process';

jest.setTimeout(120_000);

const TINY: InstanceFlavor = { id: 1, flavorid: '1', name: 'm1.tiny', vcpus: 1, memory_mb: 512, root_gb: 1, ephemeral_gb: 0, swap: 0, extra_specs: {} };

describe('ferry server cleanup (against ferry up: embedded database, in-process bus)', () => {
  const state = tempStateDir();
  const env = {
    FERRY_STATE_DIR: state.dir, FERRY_API_PORT: '0', FERRY_UP_COMPUTES: '3', FERRY_DATABASE_URL: '', FERRY_TRANSPORT_URL: '',
    // No power sync or sweep while the test leaves a guest where the database does not expect it.
    FERRY_POWER_SYNC_INTERVAL: '3600',
    // The seeded admin at FERRY_PUBLIC_URL, unless a test names OS_* credentials.
    OS_AUTH_URL: '',
  };
  let up: FerryProcess | undefined;
  let cliEnv: NodeJS.ProcessEnv;
  let url = '';

  beforeAll(async () => {
    up = startFerry(['up'], env);
    [, url] = await up.waitFor(/API\s+(http:\/\/\S+)/, 60_000);
    await up.waitFor(/Ctrl-C/);
    cliEnv = { ...env, FERRY_PUBLIC_URL: url };
  }, 90_000);

  afterAll(async () => {
    await up?.stop('SIGKILL');
    state.remove();
  });

  async function token(user: 'admin' | 'demo'): Promise<string> {
    const res = await fetch(`${url}/identity/v3/auth/tokens`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: {
        identity: { methods: ['password'], password: { user: { name: user, domain: { name: 'Default' }, password: `ferry-${user}` } } },
        scope: { project: { name: user, domain: { name: 'Default' } } },
      } }),
    });
    expect(res.status).toBe(201);
    return res.headers.get('x-subject-token')!;
  }

  /** A server built through the API; its id and the host it runs on once ACTIVE. */
  async function activeServer(): Promise<{ id: string; host: string }> {
    const demo = await token('demo');
    const created = await fetch(`${url}/compute/v2.1/servers`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-auth-token': demo },
      body: JSON.stringify({ server: { name: 'vm', flavorRef: '1', imageRef: CIRROS_IMAGE_ID } }),
    });
    expect(created.status).toBe(202);
    const { id } = ((await created.json()) as { server: { id: string } }).server;
    const admin = await token('admin');
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
      const res = await fetch(`${url}/compute/v2.1/servers/${id}`, { headers: { 'x-auth-token': admin } });
      const server = ((await res.json()) as { server: Record<string, string> }).server;
      if (server.status === 'ACTIVE') return { id, host: server['OS-EXT-SRV-ATTR:host']! };
    }
    throw new Error(`server ${id} did not become ACTIVE`);
  }
  const otherHost = (host: string) => (host === 'compute-1' ? 'compute-2' : 'compute-1');
  const spec = (id: string) => ({ uuid: id, name: guestName(id), flavor: TINY, image_ref: CIRROS_IMAGE_ID });

  it('adopts a server moved by hand, then finds nothing to do', async () => {
    const { id, host } = await activeServer();
    const other = otherHost(host);
    await induceFailureMode('moved_by_hand', { stateDir: state.dir, spec: spec(id), source: host, other });

    const first = await runFerry(['server', 'cleanup', id], cliEnv);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`instance ${id}: converged (adopt) [rule one_good_copy]\nfound:\n  database: active on ${host}, claims on ${host}\n`);
    expect(first.stdout).toContain(`  ${other}: running as ${guestName(id)} (disk present)\n`);
    expect(first.stdout).toContain(`done:\n  - claimed the instance's resources on ${other}\n  - instance host ${host} → ${other}\n  - released the claim on ${host}\n`);

    const second = await runFerry(['server', 'cleanup', id, '--json'], cliEnv);
    expect(second.code).toBe(0);
    const report = JSON.parse(second.stdout) as CleanupReport;
    expect(report).toMatchObject({ instance_uuid: id, result: 'nothing_to_do', done: [], found: { database: { host: other, claims: [other] } } });

    const audit = await runFerry(['audit'], cliEnv);
    expect(audit.code).toBe(0);
  });

  it('refuses a copy started by hand beside the good one (exit 1), naming both hosts', async () => {
    const { id, host } = await activeServer();
    const other = otherHost(host);
    await induceFailureMode('started_by_hand', { stateDir: state.dir, spec: spec(id), source: host, other });

    const res = await runFerry(['server', 'cleanup', id], cliEnv);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain(`cleanup refused: Cannot clean up instance ${id}: the guest runs on `);
    expect(res.stderr).toMatch(/runs on compute-\d and compute-\d/);
    for (const h of [host, other]) expect(res.stderr).toContain(`${h}: running as ${guestName(id)}`);

    const json = await runFerry(['server', 'cleanup', id, '--json'], cliEnv);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({ refused: expect.stringContaining('cannot tell which copy is good') });
  });

  it('logs in with the usual OS_* variables and finds the compute endpoint in the catalog', async () => {
    const { id } = await activeServer();
    const res = await runFerry(['server', 'cleanup', id], {
      ...env, FERRY_ADMIN_PASSWORD: 'not-used', FERRY_API_PORT: '1',
      OS_AUTH_URL: `${url}/identity`, OS_USERNAME: 'admin', OS_PASSWORD: 'ferry-admin', OS_PROJECT_NAME: 'admin',
      OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default',
    });
    expect(res.stderr).toBe('');
    expect(res.stdout).toMatch(new RegExp(`^instance ${id}: nothing to do \\[rule one_good_copy\\]\n`));
    expect(res.code).toBe(0);

    const wrong = await runFerry(['server', 'cleanup', id], { ...env, OS_AUTH_URL: `${url}/identity`, OS_USERNAME: 'admin', OS_PASSWORD: 'wrong', OS_PROJECT_NAME: 'admin' });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/login as admin \(the OS_\* variables\): HTTP 401/);
  });

  it('exits 2 naming the server when it does not exist', async () => {
    const res = await runFerry(['server', 'cleanup', '00000000-0000-4000-8000-000000000000'], cliEnv);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/cleanup of server 00000000-0000-4000-8000-000000000000: HTTP 404/);
  });
});
