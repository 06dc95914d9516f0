// Serves the embedded database on a unix socket: pglite-socket's per-connection protocol handler, Ferry's scheduler.
import { chmod } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { PGLiteSocketHandler, type PGLiteSocketHandlerOptions } from '@electric-sql/pglite-socket';
import type { Logger } from '../../log';
import { SessionScheduler, type ProtocolExec } from './session-scheduler';

export interface EmbeddedSocketServerOptions {
  socketPath: string;
  exec: ProtocolExec;
  log: Logger;
  maxConnections: number;
  ownerIdleMs: number;
}

/** A FATAL ErrorResponse, as Postgres refuses a connection (53300 too many clients, 57P01 shutting down). */
function fatal(sqlstate: string, message: string): Buffer {
  const fields = Buffer.from(`SFATAL\0VFATAL\0C${sqlstate}\0M${message}\0\0`, 'utf8');
  const head = Buffer.alloc(5);
  head.write('E', 0, 'latin1');
  head.writeInt32BE(4 + fields.length, 1);
  return Buffer.concat([head, fields]);
}

/** Answers with a FATAL error and closes, whether or not the client hangs up its side. */
function refuse(socket: Socket, error: Buffer): void {
  socket.on('error', () => undefined);
  socket.end(error, () => socket.destroy());
}

export class EmbeddedSocketServer {
  private server: Server | null = null;
  private readonly handlers = new Map<number, PGLiteSocketHandler>();
  /** Every open socket, refused ones included: stop() must not wait on a client that never hangs up. */
  private readonly sockets = new Set<Socket>();
  private readonly scheduler: SessionScheduler;

  constructor(private readonly opts: EmbeddedSocketServerOptions) {
    this.scheduler = new SessionScheduler(opts.exec, {
      log: opts.log,
      ownerIdleMs: opts.ownerIdleMs,
      // detach() drops the socket's listeners, so no 'close' event follows: forget the handler here.
      evict: (id) => {
        const handler = this.handlers.get(id);
        this.handlers.delete(id);
        void handler?.detach(true);
      },
    });
  }

  async start(): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.opts.socketPath, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      this.server = null;
      throw err;
    }
    server.on('error', (err) => this.opts.log.error({ err: err.message }, 'embedded database socket error'));
    // PGlite has no authentication: only this user may connect (the directory is private too).
    await chmod(this.opts.socketPath, 0o600);
  }

  connectionCount(): number {
    return this.handlers.size;
  }

  /** Disconnects every client (rolling back what they left open), then stops listening. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.all([...this.handlers.values()].map((h) => h.detach(true)));
    this.handlers.clear();
    this.scheduler.close();
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    if (!this.server) return refuse(socket, fatal('57P01', 'the embedded database is shutting down'));
    if (this.handlers.size >= this.opts.maxConnections) return refuse(socket, fatal('53300', 'sorry, too many clients already'));
    const handler = new PGLiteSocketHandler({
      // The option is typed as pglite-socket's internal queue class; the scheduler implements its contract.
      queryQueue: this.scheduler as unknown as PGLiteSocketHandlerOptions['queryQueue'],
      closeOnDetach: true,
    });
    const id = handler.handlerId;
    this.handlers.set(id, handler);
    const forget = () => this.handlers.delete(id);
    handler.addEventListener('close', forget);
    handler.addEventListener('error', forget);
    handler.attach(socket).catch((err: Error) => {
      forget();
      this.opts.log.warn({ err: err.message }, 'embedded database: could not attach a connection');
      socket.destroy();
    });
  }
}
