// Benchmark instrumentation: counts the SQL statements this process sends to Postgres, by kind, by wrapping
// pg's Client#query (TypeORM's postgres driver and pg.Pool both go through it). Clients can be left out.
import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner.js';
import { timeline, tracing } from './timeline';

export interface SqlCounts {
  selects: number;
  inserts: number;
  updates: number;
  deletes: number;
  /**
   * Statements that write through a WITH (several writes in one statement, e.g. a claim freed and a record completed),
   * or through a database function (a claim).
   */
  combinedWrites: number;
  /** Explicit transactions committed (TypeORM's START TRANSACTION … COMMIT). */
  transactions: number;
  /** Commits that carry writes: autocommit INSERT/UPDATE/DELETEs plus committed transactions that wrote. */
  writeCommits: number;
  /** Everything else (SET, ROLLBACK, …). */
  other: number;
}

const zero = (): SqlCounts => ({ selects: 0, inserts: 0, updates: 0, deletes: 0, combinedWrites: 0, transactions: 0, writeCommits: 0, other: 0 });

export function diff(after: SqlCounts, before: SqlCounts): SqlCounts {
  const out = zero();
  for (const k of Object.keys(out) as (keyof SqlCounts)[]) out[k] = after[k] - before[k];
  return out;
}

/** Two processes' counts as one (e.g. the parent's plus a compute process's). */
export function sum(a: SqlCounts, b: SqlCounts): SqlCounts {
  const out = zero();
  for (const k of Object.keys(out) as (keyof SqlCounts)[]) out[k] = a[k] + b[k];
  return out;
}

type QueryFn = (...args: unknown[]) => unknown;

/** Ferry's database functions that write, called by a SELECT (see the schema migrations). */
const WRITING_FUNCTIONS = /^\s*SELECT\s+ferry_claim_resources\s*\(/i;

/**
 * Where a statement came from: the first stack frame in Ferry's own code outside its database layer (the flow's step
 * that asked), and the statement's verb and table. Costly (a stack trace per statement): only when asked for.
 */
function callerOf(query: unknown): string {
  const labelled = typeof query === 'object' && query !== null ? (query as { [ASKED_BY]?: string })[ASKED_BY] : undefined;
  return `${labelled ?? askedBy.getStore() ?? stepOnStack()}: ${statementShape(statementText(query))}`;
}

/**
 * The step asking, taken where Ferry's call enters TypeORM's query runner or pg's pool: by the time pg's Client#query
 * runs, the stack starts in pg-pool's callback and holds no frame of Ferry's. Through TypeORM the label travels in
 * the query's async context (askedBy); a pool query, whose client may come from another query's release, carries it
 * on its config object (ASKED_BY).
 */
const askedBy = new AsyncLocalStorage<string>();
const ASKED_BY = Symbol('asked by');

/** Makes every TypeORM query and pool query carry the step that asked; returns the undo. */
function labelQueriesByStep(): () => void {
  const runner = PostgresQueryRunner.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const pool = pg.Pool.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const [runnerQuery, poolQuery] = [runner.query, pool.query];
  runner.query = function (this: unknown, ...args: unknown[]): unknown {
    return askedBy.run(askedBy.getStore() ?? stepOnStack(), () => runnerQuery.apply(this, args));
  };
  pool.query = function (this: unknown, ...args: unknown[]): unknown {
    const config = args[0];
    if (typeof config === 'object' && config !== null) (config as { [ASKED_BY]?: string })[ASKED_BY] = askedBy.getStore() ?? stepOnStack();
    return poolQuery.apply(this, args);
  };
  return () => {
    runner.query = runnerQuery;
    pool.query = poolQuery;
  };
}

/** The first frame of Ferry's own code outside its database layer on the stack now, as "function (package/file)". */
function stepOnStack(): string {
  const frames = (new Error().stack ?? '').split('\n').slice(1);
  const ferry = frames.filter((f) => /\/(services|libs|tools)\/[^/]+\/dist\//.test(f));
  // Outside the database layer if the stack reaches there; else the outermost database function (the caller's entry).
  const step = ferry.find((f) => !/\/libs\/common\/dist\/db\//.test(f)) ?? ferry.at(-1);
  if (!step) return '(outside Ferry)';
  const at = /at (?:async )?(?:(\S+) \()?.*\/(?:services|libs|tools)\/([^/]+)\/dist\/(.+?):\d+:\d+\)?$/.exec(step.trim());
  return at ? `${at[1] ?? '(anonymous)'} (${at[2]}/${at[3].replace(/\.js$/, '')})` : step.trim();
}

/** The SQL of a query as pg's Client#query takes it: a string, or a config object with `text`. */
function statementText(query: unknown): string {
  if (typeof query === 'string') return query;
  return typeof query === 'object' && query !== null && 'text' in query ? String(query.text) : '';
}

/** The verb and first table of a statement, e.g. "UPDATE migrations", "SELECT instances". */
function statementShape(text: string): string {
  const verb = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? '?';
  const table = /\b(?:FROM|INTO|UPDATE)\s+"?(\w+)"?/i.exec(text)?.[1] ?? '';
  return `${verb} ${table}`.trim();
}

export class SqlCounter {
  private counts = zero();
  /** Statements by caller and shape, while traceCallers() is on. */
  private callers: Map<string, number> | undefined;
  private readonly ignored = new WeakSet<object>();
  /** Writes so far in each client's open transaction. */
  private readonly open = new WeakMap<object, number>();
  private restore: (() => void) | undefined;
  private unlabel: (() => void) | undefined;

  install(): void {
    if (this.restore) return;
    const proto = pg.Client.prototype as unknown as { query: QueryFn };
    const original = proto.query;
    const see = (client: object, query: unknown) => this.see(client, query);
    const ignored = this.ignored;
    if (tracing) this.unlabel ??= labelQueriesByStep();
    proto.query = !tracing ? function (this: object, ...args: unknown[]): unknown {
      see(this, args[0]);
      return original.apply(this, args);
    } : function (this: object, ...args: unknown[]): unknown {
      see(this, args[0]);
      if (!timeline.on || ignored.has(this)) return original.apply(this, args);
      const label = callerOf(args[0]);
      timeline.begin('sql', label, `sql> ${label}`);
      const ended = () => timeline.end('sql', label, `sql< ${label}`);
      const last = args[args.length - 1];
      if (typeof last === 'function') {
        args[args.length - 1] = (...r: unknown[]) => {
          ended();
          return (last as QueryFn)(...r);
        };
        return original.apply(this, args);
      }
      const out = original.apply(this, args);
      if (out instanceof Promise) out.then(ended, ended);
      return out;
    };
    this.restore = () => {
      proto.query = original;
    };
  }

  uninstall(): void {
    this.restore?.();
    this.restore = undefined;
    this.unlabel?.();
    this.unlabel = undefined;
  }

  /** Statements of this client (the benchmark's own probes) are not counted. */
  ignore(client: object): void {
    this.ignored.add(client);
  }

  /** From now on also counts each statement by the Ferry function that sent it (a stack trace each: slow). */
  traceCallers(): void {
    this.callers ??= new Map();
    this.unlabel ??= labelQueriesByStep();
    Error.stackTraceLimit = Math.max(Error.stackTraceLimit, 60);
  }

  /** Statements by caller and shape so far (empty unless traceCallers() is on). */
  callerSnapshot(): Map<string, number> {
    return new Map(this.callers ?? []);
  }

  snapshot(): SqlCounts {
    return { ...this.counts };
  }

  private see(client: object, query: unknown): void {
    if (this.ignored.has(client)) return;
    const text = statementText(query);
    const verb = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? '';
    if (this.callers && verb !== 'START' && verb !== 'BEGIN' && verb !== 'COMMIT') {
      const key = callerOf(query);
      this.callers.set(key, (this.callers.get(key) ?? 0) + 1);
    }
    const c = this.counts;
    const inTx = this.open.get(client);
    switch (verb) {
      case 'SELECT':
        // A call of one of Ferry's database functions that write (ferry_claim_resources) is a write, not a read.
        if (WRITING_FUNCTIONS.test(text)) {
          c.combinedWrites++;
          this.wrote(client, inTx);
        } else {
          c.selects++;
        }
        return;
      case 'INSERT':
      case 'UPDATE':
      case 'DELETE':
        if (verb === 'INSERT') c.inserts++;
        else if (verb === 'UPDATE') c.updates++;
        else c.deletes++;
        this.wrote(client, inTx);
        return;
      case 'WITH':
        // A data-modifying WITH (several writes in one statement) counts as a write; a read-only one as a SELECT.
        if (/\b(INSERT|UPDATE|DELETE)\b/i.test(text)) {
          c.combinedWrites++;
          this.wrote(client, inTx);
        } else {
          c.selects++;
        }
        return;
      case 'START':
      case 'BEGIN':
        this.open.set(client, 0);
        return;
      case 'COMMIT':
        c.transactions++;
        if (inTx) c.writeCommits++;
        this.open.delete(client);
        return;
      case 'ROLLBACK':
        this.open.delete(client);
        c.other++;
        return;
      default:
        c.other++;
    }
  }

  /** A write: its own commit outside a transaction, else one more write of the open one. */
  private wrote(client: object, inTx: number | undefined): void {
    if (inTx === undefined) this.counts.writeCommits++;
    else this.open.set(client, inTx + 1);
  }
}
