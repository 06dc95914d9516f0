// Benchmark instrumentation: counts the SQL statements this process sends to Postgres, by kind, by wrapping
// pg's Client#query (TypeORM's postgres driver and pg.Pool both go through it). Clients can be left out.
import pg from 'pg';

export interface SqlCounts {
  selects: number;
  inserts: number;
  updates: number;
  deletes: number;
  /** Explicit transactions committed (TypeORM's START TRANSACTION … COMMIT). */
  transactions: number;
  /** Commits that carry writes: autocommit INSERT/UPDATE/DELETEs plus committed transactions that wrote. */
  writeCommits: number;
  /** Everything else (SET, ROLLBACK, …). */
  other: number;
}

const zero = (): SqlCounts => ({ selects: 0, inserts: 0, updates: 0, deletes: 0, transactions: 0, writeCommits: 0, other: 0 });

export function diff(after: SqlCounts, before: SqlCounts): SqlCounts {
  const out = zero();
  for (const k of Object.keys(out) as (keyof SqlCounts)[]) out[k] = after[k] - before[k];
  return out;
}

type QueryFn = (...args: unknown[]) => unknown;

export class SqlCounter {
  private counts = zero();
  private readonly ignored = new WeakSet<object>();
  /** Writes so far in each client's open transaction. */
  private readonly open = new WeakMap<object, number>();
  private restore: (() => void) | undefined;

  install(): void {
    if (this.restore) return;
    const proto = pg.Client.prototype as unknown as { query: QueryFn };
    const original = proto.query;
    const see = (client: object, query: unknown) => this.see(client, query);
    proto.query = function (this: object, ...args: unknown[]): unknown {
      see(this, args[0]);
      return original.apply(this, args);
    };
    this.restore = () => {
      proto.query = original;
    };
  }

  uninstall(): void {
    this.restore?.();
    this.restore = undefined;
  }

  /** Statements of this client (the benchmark's own probes) are not counted. */
  ignore(client: object): void {
    this.ignored.add(client);
  }

  snapshot(): SqlCounts {
    return { ...this.counts };
  }

  private see(client: object, query: unknown): void {
    if (this.ignored.has(client)) return;
    const text = typeof query === 'string' ? query : typeof query === 'object' && query !== null && 'text' in query ? String(query.text) : '';
    const first = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? '';
    // A WITH statement counts as what it does: a write when any of its parts writes, else a read.
    const verb = first === 'WITH' ? (/\b(INSERT|UPDATE|DELETE)\b/i.exec(text)?.[1]?.toUpperCase() ?? 'SELECT') : first;
    const c = this.counts;
    const inTx = this.open.get(client);
    switch (verb) {
      case 'SELECT':
        c.selects++;
        return;
      case 'INSERT':
      case 'UPDATE':
      case 'DELETE':
        if (verb === 'INSERT') c.inserts++;
        else if (verb === 'UPDATE') c.updates++;
        else c.deletes++;
        if (inTx === undefined) c.writeCommits++;
        else this.open.set(client, inTx + 1);
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
}
