// One process per host: a second compute for a host refuses to start while the first holds the lease on its services
// row; a clean stop frees the host at once, a killed process's lease expires, and a process whose lease was taken exits.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import { createTransport, newRequestContext, RpcClient, type Transport } from '@ferry/common/rpc';
import type { ServiceInfoEndpoint } from '@ferry/common/service';
import { deleteRpcTopology, testTransportUrl } from '../../support/amqp';
import { createTestDatabase, type TestDatabase } from '../../support/db';
import { runFerry, startFerry, tempStateDir, type FerryProcess } from '../../support/ferry-process';

jest.setTimeout(120_000);

const HOST = 'cmp-lease';
// Long enough that a second process, started right after a kill, still finds the lease held on a loaded machine
// (starting node and the service takes seconds there).
const LEASE_SECONDS = 12;

describe('a compute service holds a lease on its host', () => {
  const state = tempStateDir();
  const prefix = `test_${randomBytes(4).toString('hex')}_`;
  let db: TestDatabase;
  let sql: pg.Client;
  let bus: Transport;
  let env: NodeJS.ProcessEnv;
  const procs: FerryProcess[] = [];

  const startCompute = (): FerryProcess => {
    const p = startFerry(['compute', '--host', HOST], env);
    procs.push(p);
    return p;
  };
  const ping = () => new RpcClient<ServiceInfoEndpoint>(bus, { topic: 'compute', version: '1.0' }, { timeoutMs: 5_000 })
    .prepare({ server: HOST }).call(newRequestContext(), 'ping', {});

  beforeAll(async () => {
    db = await createTestDatabase();
    env = {
      FERRY_DATABASE_URL: db.url, FERRY_TRANSPORT_URL: testTransportUrl(), FERRY_BUS_PREFIX: prefix, FERRY_STATE_DIR: state.dir,
      FERRY_HEARTBEAT_INTERVAL: '1', FERRY_SERVICE_LEASE_SECONDS: String(LEASE_SECONDS), FERRY_POWER_SYNC_INTERVAL: '1',
    };
    const migrated = await runFerry(['db', 'migrate'], env, 90_000);
    expect(migrated.code).toBe(0);
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    bus = await createTransport({ url: testTransportUrl(), prefix });
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await bus?.close();
    await sql?.end();
    await deleteRpcTopology(testTransportUrl(), { prefix, topics: ['compute'], servers: [HOST] });
    await db?.drop();
    state.remove();
  });

  let first: FerryProcess;

  it('refuses a second compute for the same host (exit 2, naming the first) while the first keeps serving', async () => {
    first = startCompute();
    await first.waitFor(/service started/, 60_000);
    const second = await runFerry(['compute', '--host', HOST], env, 60_000);
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(new RegExp(
      `^ferry: host ${HOST} is already served by another compute process \\(pid ${first.child.pid}, on ${hostname()}, heartbeat \\d+ s ago\\); ` +
      `stop it first, or wait \\d+ s for its lease to expire if it died\\n$`,
    ));
    expect(await ping()).toMatchObject({ host: HOST, pid: first.child.pid });
    expect(first.child.exitCode).toBeNull();
  });

  it('lets a new compute start at once after the first stopped cleanly (the lease is released)', async () => {
    expect(await first.stop('SIGTERM')).toBe(0);
    const { rows } = await sql.query<{ lease_owner: string | null }>('SELECT lease_owner FROM services WHERE host = $1', [HOST]);
    expect(rows).toEqual([{ lease_owner: null }]);
    const next = startCompute();
    await next.waitFor(/service started/, 60_000);
    expect(await ping()).toMatchObject({ pid: next.child.pid });
    first = next;
  });

  it('lets a new compute start once a killed one\'s lease expired, not before', async () => {
    expect(await first.stop('SIGKILL')).toBe(137);
    const early = await runFerry(['compute', '--host', HOST], env, 60_000);
    expect(early.code).toBe(2);
    const wait = Number(/wait (\d+) s for its lease to expire/.exec(early.stderr)?.[1]);
    expect(wait).toBeLessThanOrEqual(LEASE_SECONDS);
    await new Promise((r) => setTimeout(r, (wait + 1) * 1000));
    const next = startCompute();
    await next.waitFor(/service started/, 60_000);
    expect(await ping()).toMatchObject({ pid: next.child.pid });
    first = next;
  });

  it('makes a compute whose lease another process took stop taking work and exit with an error', async () => {
    // What a process that found the lease expired (this one stalled) would have written.
    await sql.query(`UPDATE services SET lease_owner = gen_random_uuid(), lease_pid = 4242, lease_machine = 'elsewhere', lease_expires_at = now() + interval '1 minute'
                     WHERE host = $1 AND "binary" = 'ferry-compute'`, [HOST]);
    const code = await new Promise<number>((resolve) => first.child.once('exit', (c) => resolve(c ?? -1)));
    expect(code).toBe(1);
    expect(first.output()).toMatch(/ferry: compute of host cmp-lease lost its lease to pid 4242 on elsewhere/);
    expect(first.output()).toMatch(/"service_name":"ferry-compute@cmp-lease".*"msg":"stopped"/);
    // Nobody consumes the host's queue any more: a call to it goes unanswered.
    await expect(ping()).rejects.toThrow();
  });
});
