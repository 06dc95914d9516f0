// The stock clients evacuate through the whole API app: `openstack server evacuate` with and without --host, its
// refusal while the source compute is up, `nova evacuate` and `nova host-evacuate`. A recording scheduler stands in
// for the real one (the rebuild itself is covered by test/integration/compute/evacuation.test.ts).
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '@ferry/common/config';
import { getInstance, migrate, Migration, openDatabase, seed, type FerryDatabase, type Instance } from '@ferry/common/db';
import { silentLogger } from '@ferry/common/log';
import { createTransport, RpcServer, served, type Transport } from '@ferry/common/rpc';
import { buildApp } from '@ferry/api';
import { SCHEDULER_CONTRACT, SCHEDULER_RPC_VERSION } from '@ferry/scheduler';
import { createTestDatabase, type TestDatabase } from '../../../support/db';
import { cloudsYaml, runClient, type CliResult } from '../../../support/cloud';
import { addComputeHost, insertInstance } from '../resources/support';

const PASSWORDS = { admin: 'cli-admin-secret', demo: 'cli-demo-secret' };
const haveCli = existsSync('/usr/bin/openstack') && existsSync('/usr/bin/nova');
const describeCli = haveCli ? describe : describe.skip;

let tdb: TestDatabase;
let db: FerryDatabase;
let app: FastifyInstance;
let url = '';
let configDir: string;
let transport: Transport;
let scheduler: RpcServer;
const evacuations: number[] = [];


const openstack = (args: string[]) => runClient('openstack', ['--os-cloud', 'ferry-admin', ...args], { OS_CLIENT_CONFIG_FILE: join(configDir, 'clouds.yaml') });
const nova = (args: string[]) => runClient('nova', args, {
  OS_AUTH_URL: `${url}/identity/v3`, OS_USERNAME: 'admin', OS_PASSWORD: PASSWORDS.admin, OS_PROJECT_NAME: 'admin',
  OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default',
});

/**
 * The installed openstackclient sends the evacuation, then fails formatting novaclient's answer (a known client bug:
 * it formats the tuple evacuate returns as if it were a server), whatever the API answers; anything else is a failure.
 */
const CLIENT_FORMAT_BUG = "'TupleWithMeta' object has no attribute 'to_dict'";
const sentByOpenstack = (r: CliResult) => r.code === 0 || r.stderr.trim() === CLIENT_FORMAT_BUG;

const forceDown = (host: string, down: boolean) => db.dataSource.query(`UPDATE services SET forced_down = $2 WHERE host = $1`, [host, down]);
const recordOf = (uuid: string) => db.dataSource.getRepository(Migration).findOneBy({ instance_uuid: uuid });

describeCli('evacuate with the openstack and nova CLIs', () => {
  jest.setTimeout(120_000);

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = await openDatabase({ url: tdb.url, stateDir: mkdtempSync(join(tmpdir(), 'ferry-evac-cli-')), poolSize: 4 });
    await migrate(db.dataSource);
    await seed(db.dataSource, { adminPassword: PASSWORDS.admin, demoPassword: PASSWORDS.demo });
    for (const host of ['compute-1', 'compute-2', 'compute-3']) await addComputeHost(db.dataSource, host);
    const config = loadConfig({}, { serviceDownSeconds: 86400 });
    transport = await createTransport({ url: `inproc://evac-cli-${process.pid}` });
    const endpoint = { target: { version: SCHEDULER_RPC_VERSION }, evacuate_server: async (_ctx: unknown, args: { migration_id: number }) => { evacuations.push(args.migration_id); } };
    scheduler = new RpcServer(transport, { topic: 'scheduler', server: 'scheduler-1' }, [served<object>(endpoint, { evacuate_server: SCHEDULER_CONTRACT.evacuate_server })]);
    await scheduler.start();
    app = buildApp({ config, db, transport, log: silentLogger(), publicUrl: () => url });
    url = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('localhost', '127.0.0.1');
    configDir = mkdtempSync(join(tmpdir(), 'ferry-evac-cli-config-'));
    writeFileSync(join(configDir, 'clouds.yaml'), cloudsYaml(url, PASSWORDS));
  });
  afterEach(async () => {
    await forceDown('compute-1', false);
  });
  afterAll(async () => {
    await app?.close();
    await scheduler?.stop();
    await transport?.close();
    await db?.close();
    await tdb?.drop();
  });

  const server = (host = 'compute-1') => insertInstance(db.dataSource, { host, node: host, launched_at: new Date() });
  const accepted = async (vm: Instance, dest: string | null) => {
    expect(await recordOf(vm.uuid)).toMatchObject({ migration_type: 'evacuation', status: 'accepted', source_compute: 'compute-1', dest_compute: dest });
    expect((await getInstance(db.dataSource, vm.uuid))!.task_state).toBe('rebuilding');
  };

  it('openstack server evacuate: refused while the host is up, then accepted without and with --host once it is down', async () => {
    const a = await server();
    const refused = await openstack(['server', 'evacuate', a.uuid]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('Compute service of compute-1 is still in use. (HTTP 400)');
    expect(await recordOf(a.uuid)).toBeNull();

    await forceDown('compute-1', true);
    const plain = await openstack(['server', 'evacuate', a.uuid]);
    expect({ sent: sentByOpenstack(plain), stderr: plain.stderr }).toMatchObject({ sent: true });
    await accepted(a, null);

    const b = await server();
    const hosted = await openstack(['--os-compute-api-version', '2.29', 'server', 'evacuate', '--host', 'compute-2', b.uuid]);
    expect({ sent: sentByOpenstack(hosted), stderr: hosted.stderr }).toMatchObject({ sent: true });
    await accepted(b, 'compute-2');
  });

  it('nova evacuate with a target host, and its refusal while the host is up', async () => {
    const vm = await server();
    const refused = await nova(['evacuate', vm.uuid, 'compute-3']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('Compute service of compute-1 is still in use.');
    await forceDown('compute-1', true);
    expect(await nova(['evacuate', vm.uuid, 'compute-3'])).toMatchObject({ code: 0 });
    await accepted(vm, 'compute-3');
  });

  it('nova host-evacuate evacuates every server of the host', async () => {
    const host = 'compute-3';
    const vms = [await server(host), await server(host)];
    await db.dataSource.query(`UPDATE services SET forced_down = true WHERE host = $1`, [host]);
    const res = await nova(['host-evacuate', host]);
    expect(res).toMatchObject({ code: 0 });
    for (const vm of vms) {
      expect(res.stdout).toContain(vm.uuid);
      expect(await recordOf(vm.uuid)).toMatchObject({ migration_type: 'evacuation', status: 'accepted', source_compute: host });
    }
  });
});
