// The stock clients (python3-openstackclient, novaclient) against the whole API app in this process: the
// flavor, hypervisor, service, availability zone, migration and image commands operators use.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '@ferry/common/config';
import { migrate, openDatabase, seed, type FerryDatabase } from '@ferry/common/db';
import { silentLogger } from '@ferry/common/log';
import { createTransport, RpcServer, served, type Transport } from '@ferry/common/rpc';
import { buildApp } from '@ferry/api';
import { COMPUTE_CONTRACT, COMPUTE_RPC_VERSION } from '@ferry/compute/client';
import { FakeDriver } from '@ferry/compute/drivers';
import { createTestDatabase, type TestDatabase } from '../../../support/db';
import { cloudsYaml, runClient } from '../../../support/cloud';
import { addComputeHost, addService, insertInstance, insertMigration, type Json } from './support';

const PASSWORDS = { admin: 'cli-admin-secret', demo: 'cli-demo-secret' };
const haveCli = existsSync('/usr/bin/openstack') && existsSync('/usr/bin/nova');
const describeCli = haveCli ? describe : describe.skip;

let tdb: TestDatabase;
let db: FerryDatabase;
let app: FastifyInstance;
let url = '';
let configDir: string;
let transport: Transport;
const hostServers: RpcServer[] = [];

/** What `hypervisor show` asks a compute host over the bus (its uptime), answered by the fake driver as a compute does. */
async function answerUptime(host: string): Promise<void> {
  const driver = new FakeDriver({ host, stateDir: mkdtempSync(join(tmpdir(), 'ferry-cli-host-')), vcpus: 16, memoryMb: 65536, diskGb: 1000 });
  const endpoint = { target: { version: COMPUTE_RPC_VERSION }, get_host_uptime: async () => driver.hostUptime() };
  const server = new RpcServer(transport, { topic: 'compute', server: host }, [served<object>(endpoint, { get_host_uptime: COMPUTE_CONTRACT.get_host_uptime })]);
  await server.start();
  hostServers.push(server);
}


const openstack = (user: 'admin' | 'demo', args: string[]) =>
  runClient('openstack', ['--os-cloud', `ferry-${user}`, ...args], { OS_CLIENT_CONFIG_FILE: join(configDir, 'clouds.yaml') });

async function json(user: 'admin' | 'demo', args: string[]): Promise<Json> {
  const r = await openstack(user, [...args, '-f', 'json']);
  if (r.code !== 0) throw new Error(`openstack ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const nova = (args: string[]) => runClient('nova', args, {
  OS_AUTH_URL: `${url}/identity/v3`, OS_USERNAME: 'admin', OS_PASSWORD: PASSWORDS.admin, OS_PROJECT_NAME: 'admin',
  OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default',
});

describeCli('the openstack and nova CLIs', () => {
  jest.setTimeout(120_000);

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = await openDatabase({ url: tdb.url, stateDir: mkdtempSync(join(tmpdir(), 'ferry-cli-')), poolSize: 4 });
    await migrate(db.dataSource);
    await seed(db.dataSource, { adminPassword: PASSWORDS.admin, demoPassword: PASSWORDS.demo });
    await addComputeHost(db.dataSource, 'compute-1');
    await addComputeHost(db.dataSource, 'compute-2');
    await addService(db.dataSource, 'controller', 'ferry-scheduler');
    const inst = await insertInstance(db.dataSource, { host: 'compute-1' });
    await insertMigration(db.dataSource, { instance_uuid: inst.uuid, migration_type: 'live-migration', status: 'running' });
    // A long down time keeps the heartbeats written at setup "up" however slowly the CLIs run.
    const config = loadConfig({}, { serviceDownSeconds: 86400 });
    transport = await createTransport({ url: `inproc://cli-${process.pid}` });
    for (const host of ['compute-1', 'compute-2']) await answerUptime(host);
    app = buildApp({ config, db, transport, log: silentLogger(), publicUrl: () => url });
    url = (await app.listen({ host: '127.0.0.1', port: 0 })).replace('localhost', '127.0.0.1');
    configDir = mkdtempSync(join(tmpdir(), 'ferry-cli-config-'));
    writeFileSync(join(configDir, 'clouds.yaml'), cloudsYaml(url, PASSWORDS));
  });
  afterAll(async () => {
    await app?.close();
    for (const server of hostServers) await server.stop();
    await transport?.close();
    await db?.close();
    await tdb?.drop();
  });

  it('creates, lists, edits, shows and deletes a flavor; members may only read', async () => {
    const created = await json('admin', ['flavor', 'create', '--ram', '256', '--disk', '1', '--vcpus', '1', '--description', 'from the CLI',
      '--property', 'hw:cpu_policy=dedicated', 'cli-flavor']);
    expect(created).toMatchObject({ name: 'cli-flavor', ram: 256, description: 'from the CLI', properties: { 'hw:cpu_policy': 'dedicated' } });
    expect((await json('demo', ['flavor', 'list'])).map((f: Json) => f.Name)).toContain('cli-flavor');
    expect((await openstack('admin', ['flavor', 'set', '--property', 'a=b', 'cli-flavor'])).code).toBe(0);
    expect((await openstack('admin', ['flavor', 'unset', '--property', 'hw:cpu_policy', 'cli-flavor'])).code).toBe(0);
    expect((await json('demo', ['flavor', 'show', 'cli-flavor'])).properties).toEqual({ a: 'b' });
    const denied = await openstack('demo', ['flavor', 'create', '--ram', '64', '--disk', '0', '--vcpus', '1', 'not-mine']);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain("Policy doesn't allow os_compute_api:os-flavor-manage:create to be performed.");
    expect((await openstack('admin', ['flavor', 'delete', 'cli-flavor'])).code).toBe(0);
    expect((await openstack('admin', ['flavor', 'show', 'cli-flavor'])).code).not.toBe(0);
  });

  it('lists and shows hypervisors and their statistics', async () => {
    const list = await json('admin', ['hypervisor', 'list', '--long']);
    expect(list.map((x: Json) => x['Hypervisor Hostname'])).toEqual(['compute-1.ferry.test', 'compute-2.ferry.test']);
    expect(list[0]).toMatchObject({ State: 'up', 'vCPUs Used': 0, vCPUs: 16 });
    const show = await json('admin', ['hypervisor', 'show', 'compute-1.ferry.test']);
    expect(show).toMatchObject({ hypervisor_hostname: 'compute-1.ferry.test', service_host: 'compute-1', running_vms: 1, aggregates: [], cpu_info: { model: 'Haswell' } });
    // The host's uptime line, split by the CLI into its parts.
    expect(show).toMatchObject({ host_time: expect.stringMatching(/^\d\d:\d\d:\d\d$/), uptime: expect.stringMatching(/^\d+ min$/), users: '0' });
    expect(show.load_average).toMatch(/^\d+\.\d\d, \d+\.\d\d, \d+\.\d\d$/);
    expect((await json('admin', ['hypervisor', 'stats', 'show'])).count).toBe(2);
    const denied = await openstack('demo', ['hypervisor', 'list']);
    expect(denied.stderr).toContain('(HTTP 403)');
  });

  it("lists compute services by Nova's binary names and disables and enables one by them", async () => {
    const before = await json('admin', ['compute', 'service', 'list', '--long']);
    expect(before.map((s: Json) => `${s.Binary}@${s.Host}:${s.Zone}`)).toEqual(['nova-compute@compute-1:nova', 'nova-compute@compute-2:nova', 'nova-scheduler@controller:internal']);
    const computes = await json('admin', ['compute', 'service', 'list', '--service', 'nova-compute']);
    expect(computes.map((s: Json) => s.Host)).toEqual(['compute-1', 'compute-2']);
    expect((await openstack('admin', ['compute', 'service', 'set', '--disable', '--disable-reason', 'maintenance', 'compute-2', 'nova-compute'])).code).toBe(0);
    const disabled = (await json('admin', ['compute', 'service', 'list', '--long', '--host', 'compute-2']))[0];
    expect(disabled).toMatchObject({ Binary: 'nova-compute', Status: 'disabled', 'Disabled Reason': 'maintenance' });
    expect((await openstack('admin', ['compute', 'service', 'set', '--enable', 'compute-2', 'nova-compute'])).code).toBe(0);
    expect((await json('admin', ['compute', 'service', 'list', '--host', 'compute-2']))[0].Status).toBe('enabled');
  });

  it('lists availability zones, with hosts and services for admins', async () => {
    const detail = await json('admin', ['availability', 'zone', 'list', '--compute', '--long']);
    expect(detail).toContainEqual(expect.objectContaining({ 'Zone Name': 'nova', 'Host Name': 'compute-1', 'Service Name': 'nova-compute' }));
    expect(await json('demo', ['availability', 'zone', 'list', '--compute'])).toEqual([{ 'Zone Name': 'nova', 'Zone Status': 'available' }]);
  });

  it('lists migrations at 2.80 for admins only', async () => {
    const rows = await json('admin', ['--os-compute-api-version', '2.80', 'server', 'migration', 'list', '--status', 'running']);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ Status: 'running', Type: 'live-migration', 'Source Compute': 'compute-1' });
    expect((await openstack('demo', ['server', 'migration', 'list'])).stderr).toContain("Policy doesn't allow os_compute_api:os-migrations:index");
  });

  it('lists and shows images through Image API discovery', async () => {
    expect((await json('demo', ['image', 'list'])).map((i: Json) => i.Name)).toEqual(['cirros']);
    expect(await json('demo', ['image', 'show', 'cirros'])).toMatchObject({ name: 'cirros', status: 'active', disk_format: 'qcow2', visibility: 'public' });
  });

  it('serves novaclient at its latest microversion', async () => {
    for (const args of [['hypervisor-list'], ['service-list'], ['migration-list'], ['flavor-list'], ['availability-zone-list']]) {
      const r = await nova(args);
      expect({ args, code: r.code, stderr: r.stderr.replace(/^nova CLI is deprecated.*\n?/m, '') }).toEqual({ args, code: 0, stderr: '' });
    }
    expect((await nova(['service-list'])).stdout).toContain('nova-scheduler');
    // From 2.53 a hypervisor is named by its uuid (a host name is Nova's 400 too).
    const [{ uuid }] = await db.dataSource.query(`SELECT uuid FROM compute_nodes WHERE host = 'compute-1'`);
    const uptime = await nova(['hypervisor-uptime', uuid]);
    expect({ code: uptime.code, stderr: uptime.stderr.replace(/^nova CLI is deprecated.*\n?/m, '') }).toEqual({ code: 0, stderr: '' });
    expect(uptime.stdout).toMatch(/uptime\s*\|\s*\d\d:\d\d:\d\d up \d+ min, {2}0 users, {2}load average: /);
  });
});
