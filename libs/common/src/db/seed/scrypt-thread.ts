// scrypt on a thread of its own: on libuv's pool, a flood of logins would queue ahead of the drivers' disk I/O.
import { Worker } from 'node:worker_threads';
import { TooManyRequests } from '../../domain';

/** Plain JavaScript, evaluated in the worker, so it runs the same from sources under test and from the build. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { scryptSync } = require('node:crypto');
parentPort.on('message', ({ id, password, salt, keyLength, options }) => {
  try {
    const key = scryptSync(password, Buffer.from(salt), keyLength, options);
    parentPort.postMessage({ id, key });
  } catch (err) {
    parentPort.postMessage({ id, error: String((err && err.message) || err) });
  }
});
`;

/** Hashes waiting beyond this are refused at once: a flood gets 429s, not an ever longer queue. */
export const MAX_QUEUED_HASHES = 64;

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
  maxmem: number;
}

interface Pending {
  resolve(key: Buffer): void;
  reject(err: Error): void;
}

interface WorkerReply {
  id: number;
  key?: Uint8Array;
  error?: string;
}

class ScryptThread {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  derive(password: string, salt: Buffer, keyLength: number, options: ScryptParams): Promise<Buffer> {
    if (this.pending.size >= MAX_QUEUED_HASHES) {
      return Promise.reject(new TooManyRequests('Too many authentication requests are waiting; retry later.'));
    }
    const id = this.nextId++;
    return new Promise<Buffer>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const worker = this.started();
      worker.ref();
      worker.postMessage({ id, password, salt, keyLength, options });
    });
  }

  /** Hashes in flight or waiting for the thread. */
  get queued(): number {
    return this.pending.size;
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.on('message', (reply: WorkerReply) => this.settle(reply));
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
      this.failAll(new Error('the password hashing thread exited'));
    });
    this.worker = worker;
    return worker;
  }

  private settle({ id, key, error }: WorkerReply): void {
    const waiter = this.pending.get(id);
    if (!waiter) return;
    this.pending.delete(id);
    // Referenced only while work is pending: an idle hashing thread never keeps a process alive.
    if (this.pending.size === 0) this.worker?.unref();
    if (error !== undefined || !key) waiter.reject(new Error(error ?? 'scrypt returned no key'));
    else waiter.resolve(Buffer.from(key.buffer, key.byteOffset, key.byteLength));
  }

  private failAll(err: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(err);
    this.pending.clear();
  }
}

const thread = new ScryptThread();

/** scrypt(password, salt) on the hashing thread; rejects with TooManyRequests when too many are queued. */
export function scryptOffPool(password: string, salt: Buffer, keyLength: number, options: ScryptParams): Promise<Buffer> {
  return thread.derive(password, salt, keyLength, options);
}

/** How many hashes are in flight or waiting (for tests and metrics). */
export function queuedHashes(): number {
  return thread.queued;
}
