// A private Postgres cluster for one chaos run (Debian's initdb and pg_ctl, on a free port, run as the postgres
// user): the harness may restart it without touching the machine's shared server.
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PG_BIN = process.env.FERRY_CHAOS_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PrivatePostgres {
  readonly url: string;
  /** pg_ctl restart -m fast: every connection is dropped, the server is back when it resolves. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** As the postgres user when this process is root (initdb refuses root), else as ourselves. */
async function asPostgres(cmd: string, args: string[], timeout = 60_000): Promise<string> {
  const argv = userInfo().uid === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] as const : [cmd, args] as const;
  const { stdout } = await run(argv[0], [...argv[1]], { timeout });
  return stdout;
}

export async function startPrivatePostgres(baseDir: string, port: number): Promise<PrivatePostgres> {
  const dir = join(baseDir, 'postgres');
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o700);
  if (userInfo().uid === 0) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const uid = Number(stdout.trim());
    chownSync(dir, uid, uid);
  }
  const data = join(dir, 'data');
  await asPostgres(join(PG_BIN, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=200`;
  const ctl = (...args: string[]) => asPostgres(join(PG_BIN, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), ...args]);
  await ctl('-o', opts, '-w', 'start');
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async restart() {
      await ctl('-o', opts, '-m', 'fast', '-w', 'restart');
    },
    async stop() {
      await ctl('-m', 'immediate', '-w', 'stop').catch(() => undefined);
    },
  };
}
