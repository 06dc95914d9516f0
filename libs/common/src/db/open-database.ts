// Opens Ferry's database: Postgres at a URL, or the embedded one under the state dir (served to other processes too).
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSource } from 'typeorm';
import { ServiceUnavailable } from '../domain';
import { silentLogger, type Logger } from '../log';
import { createDataSource, type DatabaseTarget } from './data-source';
import { startEmbeddedServer } from './embedded/embedded-server';
import { embeddedLockFile, embeddedSocketPath } from './embedded/paths';
import { redactDatabaseUrl } from './typeorm-logger';

export const DEFAULT_POOL_SIZE = 10;

/** How long a process attaching to another's embedded database waits for its socket (first start runs initdb). */
const ATTACH_TIMEOUT_MS = 30_000;

export interface OpenDatabaseOptions {
  /** Postgres URL; without one, the embedded database under `${stateDir}/db` is used. */
  url?: string;
  stateDir: string;
  log?: Logger;
  /** Pool size on Postgres (default 10). The embedded database always uses a pool of one. */
  poolSize?: number;
}

export interface FerryDatabase {
  dataSource: DataSource;
  /** True for the embedded database, whether this process serves it or attached to another's. */
  embedded: boolean;
  close(): Promise<void>;
}

export async function openDatabase(opts: OpenDatabaseOptions): Promise<FerryDatabase> {
  const log = (opts.log ?? silentLogger()).child({ component: 'db' });
  if (opts.url) {
    const ds = await connectDataSource({ url: opts.url }, log, opts.poolSize ?? DEFAULT_POOL_SIZE, redactDatabaseUrl(opts.url));
    log.info({ database: redactDatabaseUrl(opts.url), pool: opts.poolSize ?? DEFAULT_POOL_SIZE }, 'database connected');
    return { dataSource: ds, embedded: false, close: once(() => ds.destroy()) };
  }
  return openEmbedded(opts.stateDir, log);
}

async function openEmbedded(stateDir: string, log: Logger): Promise<FerryDatabase> {
  const start = await startEmbeddedServer(stateDir, log);
  if ('servedByPid' in start) {
    // Another process serves this state dir: be one of its clients (a pool of one, like the owner's).
    await waitForSocket(embeddedSocketPath(stateDir), ATTACH_TIMEOUT_MS, `its lock ${embeddedLockFile(stateDir)} names pid ${start.servedByPid}; remove it if no Ferry process runs`);
    const ds = await connectDataSource({ socketDir: start.socketDir }, log, 1, `embedded database of pid ${start.servedByPid}`);
    log.info({ socket_dir: start.socketDir, served_by_pid: start.servedByPid }, 'attached to the embedded database of another process');
    return { dataSource: ds, embedded: true, close: once(() => ds.destroy()) };
  }
  const server = start.started;
  let ds: DataSource;
  try {
    ds = await connectDataSource({ socketDir: server.socketDir }, log, 1, 'embedded database');
  } catch (err) {
    await server.stop();
    throw err;
  }
  return {
    dataSource: ds,
    embedded: true,
    close: once(async () => {
      try {
        await ds.destroy();
      } finally {
        await server.stop();
      }
    }),
  };
}

async function connectDataSource(target: DatabaseTarget, log: Logger, poolSize: number, label: string): Promise<DataSource> {
  const ds = createDataSource(target, { log, poolSize });
  try {
    return await ds.initialize();
  } catch (err) {
    throw new ServiceUnavailable(`database unavailable (${label}): ${(err as Error).message}`, { database: label });
  }
}

async function waitForSocket(path: string, timeoutMs: number, hint: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(path);
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new ServiceUnavailable(`the embedded database socket ${path} did not answer within ${timeoutMs} ms (${hint})`, { socket: path });
    await sleep(200);
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}
