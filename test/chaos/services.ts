// The Ferry services of a chaos run, each a separate `ferry` process that the harness may arm, kill, stall and
// restart; and everything they share: the private Postgres and RabbitMQ, the state directory, the API port.
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../support/cloud';
import { runFerry, startFerry, type FerryProcess } from '../support/ferry-process';
import { startPrivatePostgres, type PrivatePostgres } from './private-postgres';
import { startPrivateRabbit, type PrivateRabbit } from './private-rabbit';

export const COMPUTES = ['cmp-a', 'cmp-b'] as const;
export type ComputeHost = (typeof COMPUTES)[number];
export type ServiceName = 'api' | 'scheduler' | ComputeHost;
export const SERVICES: readonly ServiceName[] = ['scheduler', ...COMPUTES, 'api'];

export const ADMIN_PASSWORD = 'chaos-admin-secret';
/** Seconds an RPC call waits for its reply: a stall lasts longer than this. */
export const RPC_TIMEOUT_SECONDS = 4;

/** Settings every service of the run shares: short intervals so that what recovers, recovers within a cell. */
function sharedSettings(dir: string, apiPort: number, db: string, bus: string): NodeJS.ProcessEnv {
  return {
    FERRY_DATABASE_URL: db, FERRY_TRANSPORT_URL: bus, FERRY_BUS_PREFIX: 'chaos_', FERRY_STATE_DIR: join(dir, 'state'),
    FERRY_API_PORT: String(apiPort), FERRY_ADMIN_PASSWORD: ADMIN_PASSWORD, FERRY_LOG_LEVEL: 'info',
    FERRY_HEARTBEAT_INTERVAL: '1', FERRY_SERVICE_LEASE_SECONDS: '2', FERRY_SERVICE_DOWN_TIME: '8', FERRY_POWER_SYNC_INTERVAL: '2',
    FERRY_RPC_TIMEOUT: String(RPC_TIMEOUT_SECONDS), FERRY_STOP_TIMEOUT: '5', FERRY_DELETE_RETRY_AFTER: '5',
    // The guest writes (FERRY_FAKE_GUEST_WRITE_RATE's default) only while a cold move's first pass copies its disk.
    FERRY_FAKE_MIGRATION_BANDWIDTH: String(256 * 1024 * 1024),
    FERRY_LIVE_MIGRATION_MONITOR_INTERVAL: '100', FERRY_CRASH_POINT: '',
    // The reconciler's deadlines, short enough for a cell to converge within its limit: a lost message is re-driven
    // after a few seconds, what a move left on a host is swept soon after the move ended.
    FERRY_RECONCILE_INTERVAL: '1', FERRY_RECONCILE_BUILD_AFTER: '4', FERRY_RECONCILE_MOVE_PREP_AFTER: '4',
    FERRY_RECONCILE_LIVE_ACCEPTED_AFTER: '4', FERRY_RECONCILE_LIVE_QUEUED_AFTER: '4', FERRY_RECONCILE_TASK_AFTER: '4',
    FERRY_RECONCILE_MOVE_STEP_AFTER: '5', FERRY_STRAY_GRACE: '3',
  };
}

export interface ChaosServices {
  readonly dir: string;
  readonly stateDir: string;
  readonly apiUrl: string;
  readonly databaseUrl: string;
  readonly postgres: PrivatePostgres;
  readonly rabbit: PrivateRabbit;
  /** The running process of a service (undefined while it is down). */
  process(name: ServiceName): FerryProcess | undefined;
  /** (Re)starts a service (stopping a running one cleanly), with extra settings (e.g. an armed crash point); resolves once it serves. */
  start(name: ServiceName, extra?: NodeJS.ProcessEnv): Promise<FerryProcess>;
  /** SIGKILLs a service (no-op when it is down). */
  kill(name: ServiceName): Promise<void>;
  /** Whether the service's current process has exited (crashed). */
  exited(name: ServiceName): boolean;
  signal(name: ServiceName, signal: NodeJS.Signals): void;
  stop(): Promise<void>;
}

const READY = /service started|API listening/;
const CRASHED = /ferry: crash point \S+ reached; SIGKILL/;

export async function startChaosServices(dir: string): Promise<ChaosServices> {
  const logDir = join(dir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const [pgPort, rabbitPort, distPort, apiPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const postgres = await startPrivatePostgres(dir, pgPort);
  let rabbit: PrivateRabbit | undefined;
  try {
    rabbit = await startPrivateRabbit(dir, `ferry-chaos-${process.pid}`, rabbitPort, distPort);
    const admin = await import('pg');
    const client = new admin.default.Client({ connectionString: postgres.url });
    await client.connect();
    await client.query('CREATE DATABASE ferry');
    await client.end();
  } catch (err) {
    await rabbit?.stop();
    await postgres.stop();
    throw err;
  }
  const databaseUrl = postgres.url.replace(/\/postgres$/, '/ferry');
  const env = sharedSettings(dir, apiPort, databaseUrl, rabbit.url);
  const migrated = await runFerry(['db', 'migrate'], env, 120_000);
  if (migrated.code !== 0) throw new Error(`ferry db migrate failed: ${migrated.stderr}`);

  const procs = new Map<ServiceName, { proc: FerryProcess; exited: boolean }>();
  const save = (name: ServiceName, proc: FerryProcess) => appendFileSync(join(logDir, `${name}.log`), proc.output());
  const kill = async (name: ServiceName) => {
    const p = procs.get(name);
    if (!p) return;
    procs.delete(name);
    p.proc.child.kill('SIGCONT');
    await p.proc.stop('SIGKILL', 5000);
    save(name, p.proc);
  };
  /** Stops a running service cleanly (it gives up its host's lease, so its successor starts at once). */
  const stopCleanly = async (name: ServiceName) => {
    const p = procs.get(name);
    if (!p) return;
    procs.delete(name);
    p.proc.child.kill('SIGCONT');
    await p.proc.stop('SIGTERM', 10_000);
    save(name, p.proc);
  };
  const start = async (name: ServiceName, extra: NodeJS.ProcessEnv = {}) => {
    await stopCleanly(name);
    const args = name === 'api' || name === 'scheduler' ? [name, '--host', `${name}-1`] : ['compute', '--host', name];
    // A host's lease outlives a killed process by a few seconds: a start refused for it is tried again.
    for (let attempt = 1; ; attempt++) {
      const proc = startFerry(args, { ...env, ...extra });
      const entry = { proc, exited: false };
      void proc.child.once('exit', () => (entry.exited = true));
      try {
        await proc.waitFor(READY, 60_000);
        procs.set(name, entry);
        return proc;
      } catch (err) {
        await proc.stop('SIGKILL', 5000);
        save(name, proc);
        // An armed process that died at its crash point while starting (a fence on start) is not retried armed.
        if (attempt >= 20 || CRASHED.test(proc.output())) throw err;
        await new Promise((r) => setTimeout(r, 400));
      }
    }
  };
  const services: ChaosServices = {
    dir, stateDir: env.FERRY_STATE_DIR!, apiUrl: `http://127.0.0.1:${apiPort}`, databaseUrl, postgres, rabbit,
    process: (name) => procs.get(name)?.proc,
    start,
    kill,
    exited: (name) => procs.get(name)?.exited ?? true,
    signal(name, signal) {
      procs.get(name)?.proc.child.kill(signal);
    },
    async stop() {
      for (const name of [...procs.keys()]) await kill(name);
      await rabbit.stop();
      await postgres.stop();
    },
  };
  try {
    for (const name of SERVICES) await start(name);
  } catch (err) {
    await services.stop();
    throw err;
  }
  return services;
}
