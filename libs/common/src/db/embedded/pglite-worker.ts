// Runs PGlite in a worker thread: its WebAssembly engine computes off the main event loop, and it loads as
// plain Node modules (PGlite loads parts of itself with dynamic import(), which Jest's module VM refuses).
import { Worker } from 'node:worker_threads';

/** Executes one wire-protocol message at a time, in arrival order; answers with every byte PGlite produced. */
const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { PGlite } = require(workerData.pgliteEntry);
let db = null;
let chain = Promise.resolve();

async function handle(msg) {
  if (msg.op === 'open') {
    db = await PGlite.create(msg.dataDir);
    return {};
  }
  if (msg.op === 'exec') {
    const chunks = [];
    let size = 0;
    await db.runExclusive(() => db.execProtocolRawStream(msg.bytes, {
      onRawData: (chunk) => { chunks.push(chunk.slice()); size += chunk.length; },
    }));
    const bytes = new Uint8Array(size);
    let offset = 0;
    for (const c of chunks) { bytes.set(c, offset); offset += c.length; }
    return { bytes };
  }
  if (msg.op === 'close') {
    if (db) await db.close();
    db = null;
    return {};
  }
  throw new Error('unknown op ' + msg.op);
}

parentPort.on('message', (msg) => {
  chain = chain.then(() => handle(msg)).then(
    (result) => parentPort.postMessage({ id: msg.id, ok: true, ...result }, result.bytes ? [result.bytes.buffer] : []),
    (err) => parentPort.postMessage({ id: msg.id, ok: false, message: String((err && err.message) || err) }),
  );
});
`;

interface Reply {
  id: number;
  ok: boolean;
  bytes?: Uint8Array;
  message?: string;
}

export class PgliteWorker {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private gone: Error | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (!waiter) return;
      if (reply.ok) waiter.resolve(reply);
      else waiter.reject(new Error(`embedded database: ${reply.message}`));
    });
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => this.fail(new Error(`embedded database worker exited (code ${code})`)));
  }

  /** Starts the worker and opens (creating on first use) the database in dataDir. */
  static async open(dataDir: string): Promise<PgliteWorker> {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { pgliteEntry: require.resolve('@electric-sql/pglite') } });
    const pw = new PgliteWorker(worker);
    try {
      await pw.request({ op: 'open', dataDir });
    } catch (err) {
      await worker.terminate();
      throw err;
    }
    return pw;
  }

  /** Runs one protocol message (or a sequence) and returns PGlite's raw answer. */
  async exec(message: Uint8Array): Promise<Uint8Array> {
    const copy = new Uint8Array(message); // always a private copy: its buffer is handed to the worker
    const reply = await this.request({ op: 'exec', bytes: copy }, [copy.buffer]);
    return reply.bytes ?? new Uint8Array(0);
  }

  /** Closes the database cleanly (flushing it to disk), then ends the worker. */
  async close(): Promise<void> {
    if (this.gone) return;
    try {
      await this.request({ op: 'close' });
    } finally {
      this.gone ??= new Error('embedded database closed');
      await this.worker.terminate();
    }
  }

  private request(body: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Reply> {
    if (this.gone) return Promise.reject(this.gone);
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, ...body }, transfer);
    });
  }

  private fail(err: Error): void {
    this.gone ??= err;
    for (const waiter of this.pending.values()) waiter.reject(this.gone);
    this.pending.clear();
  }
}
