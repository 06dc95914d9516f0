// `ferry up` on embedded defaults, observed from another process with `ferry status`, as a newcomer would.
import { runFerry, startFerry, tempStateDir, eventually, type FerryProcess } from '../../support/ferry-process';

jest.setTimeout(120_000);

interface StatusRow { binary: string; host: string; state: string; heartbeat_age_s: number | null }

describe('ferry up (all-in-one, embedded database, in-process bus)', () => {
  const state = tempStateDir();
  const env = {
    FERRY_STATE_DIR: state.dir, FERRY_API_PORT: '0', FERRY_HEARTBEAT_INTERVAL: '1', FERRY_SERVICE_DOWN_TIME: '4',
    FERRY_DATABASE_URL: '', FERRY_TRANSPORT_URL: '',
  };
  let up: FerryProcess | undefined;

  afterAll(async () => {
    await up?.stop('SIGKILL');
    state.remove();
  });

  const status = async (): Promise<StatusRow[]> => {
    const res = await runFerry(['status', '--json'], env);
    if (res.code !== 0) throw new Error(`ferry status exited ${res.code}: ${res.stderr}`);
    return JSON.parse(res.stdout) as StatusRow[];
  };

  it('starts every service and reports the API address', async () => {
    up = startFerry(['up'], env);
    const [, url] = await up.waitFor(/API\s+(http:\/\/\S+)/, 60_000);
    await up.waitFor(/Ctrl-C/);
    const res = await fetch(`${url}/compute/v2.1/`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ version: { id: 'v2.1', min_version: '2.1', version: '2.80' } });
  });

  it('is seen by `ferry status` from another process with every service up', async () => {
    const rows = await status();
    expect(rows.map((r) => `${r.binary}@${r.host}`).filter((n) => !n.startsWith('ferry-api') && !n.startsWith('ferry-scheduler'))).toEqual([
      'ferry-compute@compute-1', 'ferry-compute@compute-2', 'ferry-compute@compute-3',
    ]);
    expect(rows.map((r) => r.binary).sort()).toEqual(['ferry-api', 'ferry-compute', 'ferry-compute', 'ferry-compute', 'ferry-scheduler']);
    expect(rows.every((r) => r.state === 'up')).toBe(true);
    const text = await runFerry(['status'], env);
    expect(text.stdout).toMatch(/^BINARY\s+HOST\s+STATE/m);
    expect(text.stdout).toMatch(/ferry-compute\s+compute-2\s+up\s+enabled/);
  });

  it('keeps heartbeats fresh while running', async () => {
    await new Promise((r) => setTimeout(r, 2500));
    const rows = await status();
    for (const r of rows) expect(r.heartbeat_age_s).toBeLessThan(2.5);
  });

  it('shuts down cleanly on Ctrl-C', async () => {
    const code = await up!.stop('SIGINT');
    expect(code).toBe(0);
    expect(up!.output()).toMatch(/all services stopped/);
    const after = await runFerry(['status'], env);
    expect(after.code).toBe(2);
    expect(after.stderr).toMatch(/Ferry is not running here/);
  });

  it('restarts on the same state directory with its data intact', async () => {
    up = startFerry(['up', '--computes', '2'], env);
    await up.waitFor(/Ctrl-C/, 60_000);
    // compute-3 is not running this time: its row survived the restart and goes stale.
    const rows = await eventually(async () => {
      const r = await status();
      const byHost = (h: string) => r.find((s) => s.host === h)?.state;
      return byHost('compute-1') === 'up' && byHost('compute-3') === 'down' ? r : undefined;
    });
    expect(rows.filter((r) => r.binary === 'ferry-compute').map((r) => `${r.host}:${r.state}`)).toEqual(['compute-1:up', 'compute-2:up', 'compute-3:down']);
    expect(await up.stop('SIGINT')).toBe(0);
  });
});

describe('ferry command errors', () => {
  it('refuses a bad setting with a message naming the variable', async () => {
    const res = await runFerry(['status'], { FERRY_API_PORT: 'eighty' });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/invalid FERRY_API_PORT: expected an integer/);
  });

  it('refuses to run a lone compute without a host, bus or database', async () => {
    const noHost = await runFerry(['compute'], { FERRY_HOST: '' });
    expect(noHost.code).toBe(2);
    expect(noHost.stderr).toMatch(/--host/);
    const noBus = await runFerry(['compute', '--host', 'x'], { FERRY_TRANSPORT_URL: '', FERRY_DATABASE_URL: '' });
    expect(noBus.code).toBe(2);
    expect(noBus.stderr).toMatch(/FERRY_TRANSPORT_URL/);
  });

  it('rejects an invalid option value', async () => {
    const res = await runFerry(['up', '--computes', 'zero'], {});
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/positive integer/);
  });
});
