// Runs the built `ferry` command as a child process, for tests that cross process boundaries.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** The built `ferry` command (found through the workspace link, so it works from sources and from dist). */
export const FERRY_MAIN = join(dirname(require.resolve('@ferry/cli/package.json')), 'dist/main.js');

export interface FerryProcess {
  readonly child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves once the output matches; rejects on exit or timeout with the output so far. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Sends a signal and waits for the exit; returns the exit code (or 128+signal). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number>;
}

/** Runs `ferry <args>`; nodeArgs go to node itself (e.g. --cpu-prof, which NODE_OPTIONS refuses). */
export function startFerry(args: string[], env: NodeJS.ProcessEnv, nodeArgs: readonly string[] = []): FerryProcess {
  const child = spawn(process.execPath, [...nodeArgs, FERRY_MAIN, ...args], {
    env: { ...process.env, FERRY_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    for (const w of waiters) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let exitCode: number | undefined;
  void exited.then(([code, signal]) => {
    exitCode = code ?? 128 + (signal ? osSignal(signal) : 0);
    for (const w of waiters) w();
  });

  return {
    child,
    output: () => out,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolveMatch, reject) => {
        const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern}; output:\n${out}`)), timeoutMs);
        const check = () => {
          const m = out.match(pattern);
          if (m) return finish(undefined, m);
          if (exitCode !== undefined) finish(new Error(`ferry ${args.join(' ')} exited (${exitCode}) before ${pattern}; output:\n${out}`));
        };
        const finish = (err?: Error, m?: RegExpMatchArray) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (err) reject(err);
          else resolveMatch(m!);
        };
        waiters.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM', timeoutMs = 20_000) {
      if (exitCode !== undefined) return exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
      return exitCode!;
    },
  };
}

function osSignal(signal: NodeJS.Signals): number {
  return ({ SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[signal] ?? 0;
}

/** Runs ferry to completion; resolves with its exit code and output. */
/** The environment without the OS_* variables an operator's shell may carry: a command under test logs in as it is told. */
function withoutOpenStackCredentials(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('OS_')));
}

export async function runFerry(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000, input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [FERRY_MAIN, ...args], { env: { ...withoutOpenStackCredentials(process.env), ...env }, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  if (input !== undefined) child.stdin!.end(input);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code: code ?? -1, stdout, stderr };
}

/** A fresh temporary state directory, removed by the returned cleanup. */
export function tempStateDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-test-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Polls fn until it returns a truthy value or the timeout passes. */
export async function eventually<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 15_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
