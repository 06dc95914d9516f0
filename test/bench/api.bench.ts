// API benchmark: GET /servers/detail with 1,000 servers and POST server actions at 64 concurrent connections,
// over real Postgres, against a bare fastify+pg baseline measured in the same run.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { migrate, openDatabase, seed } from '@ferry/common/db';
import { silentLogger } from '@ferry/common/log';
import { deleteRpcTopology } from '../support/amqp';
import { createTestDatabase } from '../support/db';
import { processCpuSeconds } from './support/cpu';
import { freePort } from '../support/cloud';
import { eventually, startFerry, tempStateDir } from '../support/ferry-process';
import { fetchToken } from '../support/tokens';

const SERVERS = 1000;
const CONNECTIONS = 64;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ADMIN_PASSWORD = 'bench-admin';
/** BENCH_API_ONLY=get|post runs one half; BENCH_API_PROFILE=<dir> writes the Ferry API's CPU profile there (node --cpu-prof). */
const ONLY = process.env.BENCH_API_ONLY;
const PROFILE_DIR = process.env.BENCH_API_PROFILE;

interface Figures { p50: number; p99: number; rps: number; non2xx: number; errors: number; cpuMsPerRequest: number }

/** Load on the server at url (process pid): latency, throughput, and the server's CPU per answered request. */
async function load(url: string, pid: number, opts: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string; paths: () => string }, seconds: number): Promise<Figures> {
  const cpuBefore = processCpuSeconds(pid);
  const result = await autocannon({
    url, connections: CONNECTIONS, duration: seconds,
    requests: [{ method: opts.method, headers: opts.headers, ...(opts.body ? { body: opts.body } : {}), setupRequest: (req) => ({ ...req, path: opts.paths() }) }],
  });
  const cpuMsPerRequest = ((processCpuSeconds(pid) - cpuBefore) * 1000) / Math.max(1, result.requests.total);
  return { p50: result.latency.p50, p99: result.latency.p99, rps: result.requests.average, non2xx: result.non2xx, errors: result.errors, cpuMsPerRequest };
}

/**
 * Waits until the server has worked off what the last run left it: autocannon stops with up to CONNECTIONS requests
 * in flight, which the server still answers. A run started on top of that backlog shows its tail (p99 of 8-10 s and
 * timeouts on either side), not the server's. One request of the same kind, answered, means the queue ahead is gone.
 */
async function settle(url: string, opts: Parameters<typeof load>[2]): Promise<void> {
  await fetch(`${url}${opts.paths()}`, { method: opts.method, headers: opts.headers, ...(opts.body ? { body: opts.body } : {}) }).then((r) => r.arrayBuffer());
}

async function token(apiUrl: string): Promise<string> {
  return fetchToken(apiUrl, 'admin', ADMIN_PASSWORD);
}

async function insertServers(url: string, state: string): Promise<string[]> {
  const db = await openDatabase({ url, stateDir: state, log: silentLogger() });
  try {
    await migrate(db.dataSource);
    await seed(db.dataSource, { adminPassword: ADMIN_PASSWORD });
    const [{ id: projectId }] = await db.dataSource.query(`SELECT id FROM projects WHERE name = 'demo'`);
    const flavor = JSON.stringify({ id: 2, flavorid: '2', name: 'm1.small', vcpus: 1, memory_mb: 2048, root_gb: 20, ephemeral_gb: 0, swap: 0, extra_specs: {} });
    const rows: { uuid: string }[] = await db.dataSource.query(
      `INSERT INTO instances (uuid, display_name, project_id, user_id, host, node, flavor, image_ref, vm_state, task_state, power_state, launched_at)
       SELECT gen_random_uuid(), 'bench-' || g, $1, 'bench-user', 'compute-' || (g % 20), 'compute-' || (g % 20), $2::jsonb,
              '00000000-0000-4000-8000-000000000001', 'active', NULL, 1, now()
       FROM generate_series(1, $3) AS g RETURNING uuid`,
      [projectId, flavor, SERVERS],
    );
    return rows.map((r) => r.uuid);
  } finally {
    await db.close();
  }
}

function startBaseline(dbUrl: string, port: number): ChildProcess {
  return spawn(process.execPath, [join(__dirname, 'support/baseline-api.js')], {
    env: { ...process.env, BASELINE_DATABASE_URL: dbUrl, BASELINE_PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit'],
  });
}

function row(name: string, f: Figures): string {
  return `${name.padEnd(34)}${f.p50.toFixed(1).padStart(9)}${f.p99.toFixed(1).padStart(9)}${f.rps.toFixed(0).padStart(10)}${String(f.non2xx + f.errors).padStart(10)}${f.cpuMsPerRequest.toFixed(2).padStart(12)}`;
}

async function main(): Promise<void> {
  const db = await createTestDatabase();
  const state = tempStateDir();
  const ferryPort = await freePort();
  const basePort = await freePort();
  const transportUrl = process.env.FERRY_TEST_TRANSPORT_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
  const busPrefix = `bench_api_${process.pid}_`;
  let baseline: ChildProcess | undefined;
  let ferry: ReturnType<typeof startFerry> | undefined;
  try {
    const uuids = await insertServers(db.url, state.dir);
    ferry = startFerry(['api', '--host', 'bench-api'], {
      FERRY_DATABASE_URL: db.url, FERRY_TRANSPORT_URL: transportUrl, FERRY_BUS_PREFIX: busPrefix, FERRY_STATE_DIR: state.dir, FERRY_API_PORT: String(ferryPort), FERRY_LOG_LEVEL: 'warn',
    }, PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : []);
    const ferryUrl = `http://127.0.0.1:${ferryPort}`;
    const api = ferry;
    await eventually(() => fetch(`${ferryUrl}/compute/`).then((r) => r.ok, () => false), 60_000).catch((err: Error) => {
      throw new Error(`${err.message}: the Ferry API did not come up; its output:\n${api.output()}`);
    });
    baseline = startBaseline(db.url, basePort);
    await once(baseline.stdout!, 'data');
    const baseUrl = `http://127.0.0.1:${basePort}`;
    const auth = { 'x-auth-token': await token(ferryUrl), 'content-type': 'application/json' };
    let next = 0;
    const nextUuid = () => uuids[next++ % uuids.length]!;
    const listed = (await (await fetch(`${ferryUrl}/compute/v2.1/servers/detail?all_tenants=1`, { headers: auth })).json()) as { servers: unknown[] };
    if (listed.servers.length !== SERVERS) throw new Error(`expected ${SERVERS} servers in the listing, got ${listed.servers.length}`);

    const runs: [string, Figures, Figures][] = [];
    const [ferryPid, basePid] = [api.child.pid!, baseline.pid!];
    const pair = async (name: string, ferryReq: Parameters<typeof load>[2], baseReq: Parameters<typeof load>[2]) => {
      await load(ferryUrl, ferryPid, ferryReq, 2);
      await load(baseUrl, basePid, baseReq, 2);
      // Each side's leftovers would also take CPU from the other's run: both settle before either is measured.
      const settled = () => Promise.all([settle(ferryUrl, ferryReq), settle(baseUrl, baseReq)]);
      await settled();
      const ferryFigures = await load(ferryUrl, ferryPid, ferryReq, SECONDS);
      await settled();
      runs.push([name, ferryFigures, await load(baseUrl, basePid, baseReq, SECONDS)]);
    };
    if (ONLY !== 'post') await pair(
      `GET /servers/detail (${SERVERS} servers)`,
      { method: 'GET', headers: auth, paths: () => '/compute/v2.1/servers/detail?all_tenants=1' },
      { method: 'GET', headers: {}, paths: () => '/servers/detail' },
    );
    const resetBody = JSON.stringify({ 'os-resetState': { state: 'active' } });
    if (ONLY !== 'get') await pair(
      'POST /servers/{id}/action',
      { method: 'POST', headers: auth, body: resetBody, paths: () => `/compute/v2.1/servers/${nextUuid()}/action` },
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: resetBody, paths: () => `/servers/${nextUuid()}/action` },
    );

    process.stdout.write(`\nFerry API benchmark: ${CONNECTIONS} connections, ${SECONDS} s per run, Postgres ${db.name}\n\n`);
    process.stdout.write(`${''.padEnd(34)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'req/s'.padStart(10)}${'non-2xx'.padStart(10)}${'CPU ms/req'.padStart(12)}\n`);
    for (const [name, f, b] of runs) {
      process.stdout.write(`${name}\n${row('  ferry', f)}\n${row('  baseline (fastify + one SQL)', b)}\n`);
      process.stdout.write(`  ratio ferry/baseline: p50 ${(f.p50 / b.p50).toFixed(2)}, p99 ${(f.p99 / b.p99).toFixed(2)}, req/s ${(f.rps / b.rps).toFixed(2)}, CPU/req ${(f.cpuMsPerRequest / b.cpuMsPerRequest).toFixed(2)}\n`);
    }
  } finally {
    baseline?.kill('SIGTERM');
    await ferry?.stop('SIGTERM');
    await deleteRpcTopology(transportUrl, { prefix: busPrefix, topics: [], servers: [] });
    await db.drop();
    state.remove();
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
