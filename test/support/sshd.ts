// A throwaway OpenSSH sshd on 127.0.0.1 for tests and benchmarks: its own host and client keys, config and pid
// file in a temp dir, public-key login only, run as the current user.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './cloud';

export const SSHD = '/usr/sbin/sshd';
export const SSH_KEYGEN = '/usr/bin/ssh-keygen';
export const SCP = '/usr/bin/scp';
const SFTP_SERVER = '/usr/lib/openssh/sftp-server';
/** sshd refuses to start as root without its privilege separation directory (the package's service unit makes it). */
const PRIVSEP_DIR = '/run/sshd';
const OUTPUT_LIMIT = 64 * 1024;

const run = promisify(execFile);

export type HostKeyType = 'ed25519' | 'ecdsa' | 'rsa';

/** The public host key an sshd serves, as `ssh-keygen` shows it. */
export interface ServedHostKey {
  readonly type: string;
  readonly base64: string;
  /** `SHA256:…` from `ssh-keygen -l`. */
  readonly fingerprint: string;
}

export interface Sshd {
  readonly address: string;
  readonly port: number;
  /** The user it lets in (the current one). */
  readonly username: string;
  readonly dir: string;
  /** Private key the user logs in with (OpenSSH format), and its path for `scp -i`. */
  readonly clientPrivateKey: Buffer;
  readonly clientKeyFile: string;
  /** The host key it serves now (changes with replaceHostKey). */
  readonly hostKey: ServedHostKey;
  /** A known_hosts file pinning the current host key under `[address]:port`, for OpenSSH clients. */
  readonly knownHostsFile: string;
  /** A known_hosts line pinning the current host key under names (default `[address]:port`). */
  knownHostsLine(...names: string[]): string;
  /** Restarts on the same port with a newly generated host key (a reinstalled host, or an impostor). */
  replaceHostKey(): Promise<void>;
  /** What sshd logged (the last 64 KiB). */
  output(): string;
  /** Stops sshd and every session it forked, and removes the temp dir. */
  stop(): Promise<void>;
}

async function generateKey(path: string, type: HostKeyType): Promise<void> {
  await rm(path, { force: true });
  await rm(`${path}.pub`, { force: true });
  await run(SSH_KEYGEN, ['-q', '-t', type, '-N', '', '-C', 'ferry-test', '-f', path]);
}

async function servedHostKey(path: string): Promise<ServedHostKey> {
  const [type, base64] = (await readFile(`${path}.pub`, 'utf8')).trim().split(/\s+/);
  const { stdout } = await run(SSH_KEYGEN, ['-l', '-E', 'sha256', '-f', `${path}.pub`]);
  const fingerprint = stdout.split(/\s+/)[1];
  return { type, base64, fingerprint };
}

function sshdConfig(dir: string, port: number, username: string): string {
  return [
    'ListenAddress 127.0.0.1',
    `Port ${port}`,
    `HostKey ${join(dir, 'host_key')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    `AllowUsers ${username}`,
    'AuthenticationMethods publickey',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'PermitRootLogin prohibit-password',
    'UseDNS no',
    'PrintMotd no',
    'X11Forwarding no',
    'MaxStartups 64',
    'MaxSessions 64',
    `Subsystem sftp ${existsSync(SFTP_SERVER) ? SFTP_SERVER : 'internal-sftp'}`,
    'LogLevel INFO',
    '',
  ].join('\n');
}

/** Starts sshd in the foreground (its own process group) and waits until it listens. */
async function launch(configFile: string, port: number, log: (chunk: Buffer) => void): Promise<ChildProcess> {
  const child = spawn(SSHD, ['-D', '-e', '-f', configFile], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let seen = '';
  const listening = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sshd did not listen on port ${port} within 10 s:\n${seen}`)), 10_000);
    const onData = (chunk: Buffer) => {
      log(chunk);
      seen += chunk.toString();
      if (seen.includes(`Server listening on 127.0.0.1 port ${port}`)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`sshd exited (${code ?? signal}) before listening:\n${seen}`));
    });
  });
  await listening;
  return child;
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  // The whole group: the listener and the session processes it forked.
  process.kill(-child.pid!, 'SIGTERM');
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export async function startSshd(opts: { hostKeyType?: HostKeyType } = {}): Promise<Sshd> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: install openssh-server`);
  const hostKeyType = opts.hostKeyType ?? 'ed25519';
  if (process.getuid?.() === 0) await mkdir(PRIVSEP_DIR, { recursive: true, mode: 0o755 });
  const dir = await mkdtemp(join(tmpdir(), 'ferry-sshd-'));
  const username = userInfo().username;
  const hostKeyFile = join(dir, 'host_key');
  const clientKeyFile = join(dir, 'client_key');
  const configFile = join(dir, 'sshd_config');
  const knownHostsFile = join(dir, 'known_hosts');
  let out = '';
  const log = (chunk: Buffer) => {
    out = (out + chunk.toString()).slice(-OUTPUT_LIMIT);
  };

  let child: ChildProcess | undefined;
  let port = 0;
  let hostKey: ServedHostKey;
  try {
    await Promise.all([generateKey(hostKeyFile, hostKeyType), generateKey(clientKeyFile, 'ed25519')]);
    await writeFile(join(dir, 'authorized_keys'), await readFile(`${clientKeyFile}.pub`));
    hostKey = await servedHostKey(hostKeyFile);
    // Another process may take the free port before sshd binds it: try a few.
    for (let attempt = 1; !child; attempt++) {
      port = await freePort();
      await writeFile(configFile, sshdConfig(dir, port, username));
      try {
        child = await launch(configFile, port, log);
      } catch (err) {
        if (attempt >= 3 || !/Address already in use/.test(String(err))) throw err;
      }
    }
  } catch (err) {
    if (child) await terminate(child);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  const endpoint = `[127.0.0.1]:${port}`;
  const lineFor = (names: string[]) => `${(names.length ? names : [endpoint]).join(',')} ${hostKey.type} ${hostKey.base64}`;
  await writeFile(knownHostsFile, `${lineFor([])}\n`);
  const clientPrivateKey = await readFile(clientKeyFile);

  return {
    address: '127.0.0.1',
    port,
    username,
    dir,
    clientPrivateKey,
    clientKeyFile,
    get hostKey() {
      return hostKey;
    },
    knownHostsFile,
    knownHostsLine: (...names) => lineFor(names),
    async replaceHostKey() {
      await terminate(child!);
      await generateKey(hostKeyFile, hostKeyType);
      hostKey = await servedHostKey(hostKeyFile);
      await writeFile(knownHostsFile, `${lineFor([])}\n`);
      child = await launch(configFile, port, log);
    },
    output: () => out,
    async stop() {
      if (child) await terminate(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
