// A whole-host evacuation against a running `ferry up` (embedded database, in-process bus, three fake hosts): N
// servers built on compute-1, compute-1 forced down through os-services, then `ferry host evacuate compute-1`, timed
// from the force-down to the moment every server is ACTIVE on another host. Shared by the integration test and the bench.
import { randomUUID } from 'node:crypto';
import { CIRROS_IMAGE_ID, claimResources, Flavor, flavorResources, Instance, openDatabase, type InstanceFlavor } from '@ferry/common/db';
import { guestName } from '@ferry/common/domain';
import { FakeDriver } from '@ferry/compute/drivers';
import { createTestDatabase, type TestDatabase } from './db';
import { eventually, runFerry, startFerry, tempStateDir, type FerryProcess } from './ferry-process';

export const ADMIN_PASSWORD = 'evacuate-admin';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface HostEvacuationRun {
  /** `ferry host evacuate` as it exited. */
  cli: { code: number; stdout: string; stderr: string };
  /** Seconds from the force-down to every server ACTIVE elsewhere. */
  seconds: number;
  servers: Json[];
  /** The fake host's directory of VMs, to check what compute-1 still holds. */
  stateDir: string;
}

export class EvacuationCloud {
  private constructor(
    private readonly up: FerryProcess, readonly url: string, readonly env: NodeJS.ProcessEnv, private readonly state: { dir: string; remove(): void },
    private readonly token: string, private readonly tdb: TestDatabase | undefined,
  ) {}

  /**
   * `postgres`: on a fresh database of the test server (which `seedOnFirstHost` writes to), else the embedded one;
   * `settings`: more FERRY_* variables for `ferry up`.
   */
  static async start(opts: { postgres?: boolean; settings?: NodeJS.ProcessEnv } = {}): Promise<EvacuationCloud> {
    const state = tempStateDir();
    const tdb = opts.postgres ? await createTestDatabase() : undefined;
    const env = {
      FERRY_STATE_DIR: state.dir, FERRY_API_PORT: '0', FERRY_UP_COMPUTES: '3', FERRY_DATABASE_URL: tdb?.url ?? '', FERRY_TRANSPORT_URL: '',
      FERRY_HEARTBEAT_INTERVAL: '1', FERRY_SERVICE_DOWN_TIME: '4', FERRY_ADMIN_PASSWORD: ADMIN_PASSWORD, FERRY_FAKE_VCPUS: '256', ...opts.settings,
    };
    const up = startFerry(['up'], env);
    const [, url] = await up.waitFor(/API\s+(http:\/\/\S+)/, 60_000);
    await up.waitFor(/Ctrl-C/);
    const login = await fetch(`${url}/identity/v3/auth/tokens`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: {
        identity: { methods: ['password'], password: { user: { name: 'admin', domain: { name: 'Default' }, password: ADMIN_PASSWORD } } },
        scope: { project: { name: 'admin', domain: { name: 'Default' } } },
      } }),
    });
    if (login.status !== 201) throw new Error(`login failed: ${login.status} ${await login.text()}`);
    return new EvacuationCloud(up, url, { ...env, FERRY_PUBLIC_URL: url }, state, login.headers.get('x-subject-token')!, tdb);
  }

  get stateDir(): string {
    return this.state.dir;
  }

  async api(method: string, path: string, body?: unknown, version = '2.80'): Promise<{ status: number; body: Json }> {
    const res = await fetch(`${this.url}/compute/v2.1${path}`, {
      method, headers: { 'x-auth-token': this.token, 'openstack-api-version': `compute ${version}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  async servers(): Promise<Json[]> {
    return (await this.api('GET', '/servers/detail?all_tenants=1&limit=1000')).body.servers;
  }

  /** n servers on compute-1, ACTIVE. */
  async buildOnFirstHost(n: number): Promise<void> {
    const res = await this.api('POST', '/servers', {
      server: { name: 'evac', imageRef: CIRROS_IMAGE_ID, flavorRef: '1', networks: 'none', availability_zone: 'nova:compute-1', min_count: n, max_count: n },
    });
    if (res.status !== 202) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
    await eventually(async () => {
      const all = await this.servers();
      return all.length === n && all.every((s) => s.status === 'ACTIVE');
    }, 120_000, 500);
  }

  /**
   * n ACTIVE servers on compute-1 written as a finished build leaves them (row, claim, running fake VM), past the API's
   * per-project quota of 10; needs `postgres`.
   */
  async seedOnFirstHost(n: number): Promise<void> {
    const db = await openDatabase({ url: this.tdb!.url, stateDir: this.state.dir, poolSize: 2 });
    try {
      const f = await db.dataSource.getRepository(Flavor).findOneByOrFail({ name: 'm1.tiny' });
      const flavor: InstanceFlavor = { id: f.id, flavorid: f.flavorid, name: f.name, vcpus: f.vcpus, memory_mb: f.memory_mb, root_gb: f.root_gb, ephemeral_gb: f.ephemeral_gb, swap: f.swap, extra_specs: {} };
      const [{ id: project }] = (await db.dataSource.query(`SELECT id FROM projects WHERE name = 'demo'`)) as { id: string }[];
      const driver = new FakeDriver({ host: 'compute-1', stateDir: this.state.dir, vcpus: 256, memoryMb: 65536, diskGb: 1000 });
      const repo = db.dataSource.getRepository(Instance);
      for (let i = 0; i < n; i++) {
        const uuid = randomUUID();
        await driver.spawn({ uuid, name: guestName(uuid), flavor, image_ref: CIRROS_IMAGE_ID });
        await repo.save(repo.create({
          uuid, display_name: `evac-${i}`, project_id: project, user_id: 'demo', host: 'compute-1', node: 'compute-1', flavor, image_ref: CIRROS_IMAGE_ID,
          vm_state: 'active', task_state: null, power_state: 1, launched_at: new Date(), metadata: {}, system_metadata: {},
        }));
        if (!(await claimResources(db.dataSource, { consumer_uuid: uuid, host: 'compute-1', ...flavorResources(flavor) }))) throw new Error('compute-1 is full');
      }
    } finally {
      await db.close();
    }
  }

  async forceDown(host: string, down: boolean): Promise<void> {
    const res = await this.api('PUT', '/os-services/force-down', { host, binary: 'nova-compute', forced_down: down }, '2.11');
    if (res.status !== 200) throw new Error(`force-down failed: ${res.status} ${JSON.stringify(res.body)}`);
  }

  async evacuate(host: string, concurrency: number): Promise<HostEvacuationRun> {
    await this.forceDown(host, true);
    const started = Date.now();
    const cli = await runFerry(['host', 'evacuate', host, '--concurrency', String(concurrency)], this.env, 600_000);
    const servers = await eventually(async () => {
      const all = await this.servers();
      return all.every((s) => s.status === 'ACTIVE' && s['OS-EXT-SRV-ATTR:host'] !== host) ? all : undefined;
    }, 600_000, 100);
    return { cli, seconds: (Date.now() - started) / 1000, servers, stateDir: this.state.dir };
  }

  async close(): Promise<void> {
    await this.up.stop('SIGKILL');
    await this.tdb?.drop();
    this.state.remove();
  }
}
