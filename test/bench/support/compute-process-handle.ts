// The parent's side of a split benchmark cluster's compute process: forks the compiled support/compute-process.js,
// hands it its spec, asks it for its counts, and stops it (killing it if it does not exit in time). A child that dies
// or fails makes every pending and later request fail with the reason, so the benchmark stops instead of waiting.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type ChildMessage, type ComputeProcessSpec, fromWire, type ParentMessage, type ProcessCounts } from './compute-process-protocol';

const ENTRY = join(__dirname, 'compute-process.js');
const READY_TIMEOUT_MS = 60_000;
const COUNTS_TIMEOUT_MS = 10_000;
const EXIT_TIMEOUT_MS = 5_000;

interface Pending {
  resolve(counts: ProcessCounts): void;
  reject(err: Error): void;
}

export class ComputeProcess {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Why the child can no longer serve (it exited, or failed to start); undefined while it can. */
  private failure: Error | undefined;
  private exited = false;
  private readonly exit: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    // A failed send or spawn: without a listener it would throw out of the event loop.
    child.on('error', (err) => this.fail(err));
    this.exit = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exited = true;
        this.fail(new Error(`compute process ${child.pid} exited (${signal ?? `code ${code}`})`));
        resolve();
      });
    });
    child.on('message', (message: ChildMessage) => {
      if (message.type !== 'counts') return;
      const p = this.pending.get(message.id);
      this.pending.delete(message.id);
      p?.resolve(fromWire(message.counts));
    });
  }

  /** Forks the compute process and resolves once all its hosts' services run; rejects if it fails or dies first. */
  static async start(spec: ComputeProcessSpec): Promise<ComputeProcess> {
    if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: the split layout runs the compiled benchmarks (npm run build)`);
    const child = fork(ENTRY, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
    const handle = new ComputeProcess(child);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`compute process ${child.pid} not ready after ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
        const onMessage = (message: ChildMessage) => {
          if (message.type === 'ready') settle(resolve);
          else if (message.type === 'failed') settle(() => reject(new Error(`compute process ${child.pid} failed to start: ${message.error}`)));
        };
        const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
          settle(() => reject(new Error(`compute process ${child.pid} exited (${signal ?? `code ${code}`}) before it was ready`)));
        const onError = (err: Error) => settle(() => reject(err));
        const settle = (how: () => void) => {
          clearTimeout(timer);
          child.off('message', onMessage);
          child.off('exit', onExit);
          child.off('error', onError);
          how();
        };
        child.on('message', onMessage);
        child.once('exit', onExit);
        child.once('error', onError);
        handle.post({ type: 'start', spec });
      });
    } catch (err) {
      await handle.stop();
      throw err;
    }
    return handle;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Throws the reason if the compute process can no longer serve its hosts. */
  assertAlive(): void {
    if (this.failure) throw this.failure;
  }

  /** Its casts, notifications, SQL and CPU so far. */
  counts(): Promise<ProcessCounts> {
    this.assertAlive();
    const id = this.nextId++;
    return new Promise<ProcessCounts>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`compute process ${this.pid} did not send its counts within ${COUNTS_TIMEOUT_MS} ms`));
      }, COUNTS_TIMEOUT_MS);
      this.pending.set(id, {
        resolve: (c) => (clearTimeout(timer), resolve(c)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.post({ type: 'counts', id });
    });
  }

  /** Asks it to stop its services and exit; kills it if it has not exited within EXIT_TIMEOUT_MS. */
  async stop(): Promise<void> {
    if (this.exited) return;
    this.post({ type: 'stop' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), EXIT_TIMEOUT_MS);
    await this.exit;
    clearTimeout(timer);
  }

  private post(message: ParentMessage): void {
    if (this.child.connected) this.child.send(message);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
