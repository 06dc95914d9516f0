// A running Ferry for end-to-end tests, in either deployment mode, driven by the stock OpenStack clients.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { deleteRpcTopology } from './amqp';
import { createTestDatabase } from './db';
import { killQemu } from '@ferry/compute/drivers';
import { knownHostsFileFor } from '@ferry/compute/transfer';
import { runFerry, startFerry, tempStateDir, type FerryProcess } from './ferry-process';
import { startSshd, type Sshd } from './sshd';

const execFileAsync = promisify(execFile);

export type DeploymentMode = 'all-in-one' | 'separate processes';
export type CloudName = 'ferry-admin' | 'ferry-demo';

export const COMPUTE_HOSTS = { 'all-in-one': ['compute-1', 'compute-2', 'compute-3'], 'separate processes': ['cmp-a', 'cmp-b'] };

const PASSWORDS = { admin: 'e2e-admin-secret', demo: 'e2e-demo-secret' };

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a client command (openstack, nova) with env on top of this process's, and answers what it printed and how it exited. */
export function runClient(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

export interface Cloud {
  readonly mode: DeploymentMode;
  readonly url: string;
  /** The services' FERRY_STATE_DIR. */
  readonly stateDir: string;
  /** What the services printed so far (their logs). */
  output(): string;
  /** Runs `openstack --os-cloud <cloud> …`; never throws for a non-zero exit. */
  openstack(cloud: CloudName, args: string[]): Promise<CliResult>;
  /** Runs `openstack … -f json` and parses the output; throws with stderr on failure. */
  openstackJson<T = unknown>(cloud: CloudName, args: string[]): Promise<T>;
  /** Runs `nova …` authenticated as the cloud's user (novaclient reads OS_* variables). */
  nova(cloud: CloudName, args: string[]): Promise<CliResult>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** A clouds.yaml naming clouds ferry-admin and ferry-demo at url (as the repository's own, on another port). */
export function cloudsYaml(url: string, passwords: { admin: string; demo: string } = PASSWORDS): string {
  const cloud = (user: 'admin' | 'demo') => `  ferry-${user}:
    auth:
      auth_url: ${url}/identity
      username: ${user}
      password: ${passwords[user]}
      project_name: ${user}
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
    identity_api_version: 3
    interface: public
`;
  return `clouds:\n${cloud('admin')}${cloud('demo')}`;
}

/**
 * Starts Ferry in the given mode; settings (FERRY_* variables) apply to every service. beforeStart lays out the
 * state dir before any service starts (hosts sharing instance storage, say).
 */
export async function startCloud(mode: DeploymentMode, settings: NodeJS.ProcessEnv = {}, beforeStart: (stateDir: string) => void = () => undefined): Promise<Cloud> {
  const state = tempStateDir();
  beforeStart(state.dir);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const configFile = join(state.dir, 'clouds.yaml');
  writeFileSync(configFile, cloudsYaml(url));
  const env: NodeJS.ProcessEnv = {
    FERRY_STATE_DIR: state.dir, FERRY_API_PORT: String(port), FERRY_HEARTBEAT_INTERVAL: '2', FERRY_POWER_SYNC_INTERVAL: '2',
    FERRY_ADMIN_PASSWORD: PASSWORDS.admin, FERRY_DEMO_PASSWORD: PASSWORDS.demo,
    FERRY_DATABASE_URL: '', FERRY_TRANSPORT_URL: '', ...settings,
  };
  const procs: FerryProcess[] = [];
  let dropDb: (() => Promise<void>) | undefined;
  let sshd: Sshd | undefined;
  /** Deletes the queues and exchanges the separate-process services declared on the shared broker. */
  const dropBus = async () => {
    if (!env.FERRY_BUS_PREFIX) return;
    await deleteRpcTopology(env.FERRY_TRANSPORT_URL!, {
      prefix: env.FERRY_BUS_PREFIX, topics: ['compute', 'scheduler'], servers: [...COMPUTE_HOSTS['separate processes'], 'sched-1'],
    });
  };
  try {
    if (mode === 'all-in-one') {
      const up = startFerry(['up'], env);
      procs.push(up);
      await up.waitFor(/Ctrl-C/, 90_000);
    } else {
      const db = await createTestDatabase();
      dropDb = db.drop;
      Object.assign(env, {
        FERRY_DATABASE_URL: db.url,
        FERRY_TRANSPORT_URL: process.env.FERRY_TEST_TRANSPORT_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
        FERRY_BUS_PREFIX: `e2e_${randomBytes(4).toString('hex')}_`,
      });
      // Disks move between the compute processes over SSH, to a real sshd whose host key each compute has pinned.
      sshd = await startSshd();
      Object.assign(env, sshTransferEnv(sshd, state.dir, COMPUTE_HOSTS[mode]));
      const migrated = await runFerry(['db', 'migrate'], env, 90_000);
      if (migrated.code !== 0) throw new Error(`ferry db migrate failed: ${migrated.stderr}`);
      procs.push(startFerry(['scheduler', '--host', 'sched-1'], env));
      for (const host of COMPUTE_HOSTS[mode]) procs.push(startFerry(['compute', '--host', host], env));
      procs.push(startFerry(['api', '--host', 'api-1'], env));
      await Promise.all(procs.map((p) => p.waitFor(/service started|API listening/, 90_000)));
    }
  } catch (err) {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await dropBus();
    await dropDb?.();
    await sshd?.stop();
    state.remove();
    throw err;
  }

  const clientEnv = (extra: NodeJS.ProcessEnv = {}) => ({
    PATH: process.env.PATH, HOME: state.dir, LANG: 'C.UTF-8', OS_CLIENT_CONFIG_FILE: configFile, ...extra,
  });
  const run = async (cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> => {
    try {
      const { stdout, stderr } = await execFileAsync(cmd, args, { env, cwd: state.dir, timeout: 120_000, maxBuffer: 16 << 20 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
    }
  };
  const openstack = (cloud: CloudName, args: string[]) => run('openstack', ['--os-cloud', cloud, ...args], clientEnv());
  return {
    mode,
    url,
    stateDir: state.dir,
    output: () => procs.map((p) => p.output()).join('\n'),
    openstack,
    async openstackJson<T>(cloud: CloudName, args: string[]): Promise<T> {
      const res = await openstack(cloud, [...args, '-f', 'json']);
      if (res.code !== 0) throw new Error(`openstack ${args.join(' ')} exited ${res.code}: ${res.stderr}`);
      return JSON.parse(res.stdout) as T;
    },
    nova(cloud: CloudName, args: string[]) {
      const user = cloud === 'ferry-admin' ? 'admin' : 'demo';
      return run('nova', args, clientEnv({
        OS_AUTH_URL: `${url}/identity`, OS_USERNAME: user, OS_PASSWORD: PASSWORDS[user], OS_PROJECT_NAME: user,
        OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default', OS_REGION_NAME: 'RegionOne',
      }));
    },
    async stop() {
      await Promise.all(procs.map((p) => p.stop('SIGTERM')));
      // QEMU guests outlive their compute (qemu driver): the ones this cloud left are killed with it.
      await killGuests(state.dir);
      await dropBus();
      await dropDb?.();
      await sshd?.stop();
      state.remove();
    },
  };
}

/** Kills every QEMU whose pidfile is under stateDir's hosts (`hosts/<host>/run/<uuid>.pid`). */
async function killGuests(stateDir: string): Promise<void> {
  const hosts = join(stateDir, 'hosts');
  for (const host of existsSync(hosts) ? readdirSync(hosts) : []) {
    const run = join(hosts, host, 'run');
    for (const file of existsSync(run) ? readdirSync(run) : []) {
      if (file.endsWith('.pid')) await killQemu(join(run, file), file.slice(0, -'.pid'.length));
    }
  }
}

/** Settings that send every compute's disk copies over SSH to sshd (all hosts are this machine), host keys pinned. */
function sshTransferEnv(sshd: Sshd, stateDir: string, hosts: readonly string[]): NodeJS.ProcessEnv {
  for (const host of hosts) {
    const file = knownHostsFileFor(stateDir, host);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${sshd.knownHostsLine()}\n`);
  }
  return {
    FERRY_TRANSFER: 'ssh', FERRY_SSH_USER: sshd.username, FERRY_SSH_KEY_FILE: sshd.clientKeyFile,
    FERRY_SSH_ENDPOINTS: hosts.map((h) => `${h}=${sshd.address}:${sshd.port}`).join(','),
  };
}
