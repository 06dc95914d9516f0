// Starts the embedded database for a state dir (PGlite in a worker, served on a unix socket), or finds the
// process already serving it.
import { chmod, mkdir, rm } from 'node:fs/promises';
import type { Logger } from '../../log';
import { embeddedDataDir, embeddedDbDir, embeddedLockFile, embeddedSocketDir, embeddedSocketPath } from './paths';
import { PgliteWorker } from './pglite-worker';
import { acquireServerLock } from './server-lock';
import { EmbeddedSocketServer } from './socket-server';

/** The owning process's pool (one) plus room for `ferry status`, `ferry db …` and psql from other terminals. */
export const EMBEDDED_MAX_CONNECTIONS = 8;

/** An open transaction left idle this long while other connections wait is rolled back (its connection dropped). */
export const EMBEDDED_OWNER_IDLE_MS = 30_000;

export interface RunningEmbeddedServer {
  readonly socketDir: string;
  stop(): Promise<void>;
}

export type EmbeddedStart = { started: RunningEmbeddedServer } | { servedByPid: number; socketDir: string };

export async function startEmbeddedServer(stateDir: string, log: Logger): Promise<EmbeddedStart> {
  const socketDir = embeddedSocketDir(stateDir);
  await mkdir(embeddedDbDir(stateDir), { recursive: true, mode: 0o700 });
  await mkdir(socketDir, { recursive: true, mode: 0o700 });
  await chmod(socketDir, 0o700);

  const attempt = await acquireServerLock(embeddedLockFile(stateDir));
  if (!attempt.acquired) return { servedByPid: attempt.pid, socketDir };
  const { lock } = attempt;

  const socketPath = embeddedSocketPath(stateDir);
  let worker: PgliteWorker | undefined;
  try {
    // We hold the lock, so a socket file here was left by a process that died without cleaning up.
    await rm(socketPath, { force: true });
    const started = Date.now();
    const running = await PgliteWorker.open(embeddedDataDir(stateDir));
    worker = running;
    const server = new EmbeddedSocketServer({
      socketPath, exec: (m) => running.exec(m), log, maxConnections: EMBEDDED_MAX_CONNECTIONS, ownerIdleMs: EMBEDDED_OWNER_IDLE_MS,
    });
    await server.start();
    log.info({ data_dir: embeddedDataDir(stateDir), socket_dir: socketDir, ms: Date.now() - started }, 'embedded database started');
    return {
      started: {
        socketDir,
        async stop() {
          try {
            await server.stop();
            await running.close();
          } finally {
            await rm(socketPath, { force: true });
            await lock.release();
          }
          log.info('embedded database stopped');
        },
      },
    };
  } catch (err) {
    await worker?.close().catch(() => undefined);
    await rm(socketPath, { force: true });
    await lock.release();
    throw err;
  }
}
