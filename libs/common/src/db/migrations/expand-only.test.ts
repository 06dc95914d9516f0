// Rolling upgrades run services of two releases against one database: a schema change may only expand it (new tables,
// new nullable or defaulted columns, new indexes), so the older release's reads and writes keep working. Taking
// something away (a column, a table, a rename, a narrower type, a new NOT NULL without a default) is a contract step,
// which ships a release after nothing reads or writes the thing any more, in a migration that says so.
import type { QueryRunner } from 'typeorm';
import { MIGRATIONS } from './index';

/** A contract migration declares it: `static readonly contract = true`. None has shipped so far. */
type Migration = { new (): { up(q: QueryRunner): Promise<void> } } & { contract?: boolean };

const CONTRACTING: readonly [RegExp, string][] = [
  [/\bDROP\s+(TABLE|COLUMN|INDEX|CONSTRAINT|TYPE|VIEW)\b/i, 'drops'],
  [/\bRENAME\b/i, 'renames'],
  [/\bALTER\s+COLUMN\s+\S+\s+(SET\s+DATA\s+)?TYPE\b/i, 'changes a column\'s type'],
  [/\bALTER\s+COLUMN\s+\S+\s+SET\s+NOT\s+NULL\b/i, 'makes a column NOT NULL'],
];

/** Every statement up() runs, recorded instead of executed. */
async function statementsOf(migration: Migration): Promise<string[]> {
  const sql: string[] = [];
  const runner = { query: async (text: string) => void sql.push(text) } as unknown as QueryRunner;
  await new migration().up(runner);
  return sql;
}

/** What in one statement would break the older release. */
function contracting(statement: string): string[] {
  const found = CONTRACTING.filter(([re]) => re.test(statement)).map(([, what]) => what);
  // ADD COLUMN ... NOT NULL without a DEFAULT: the older release's INSERTs, which do not name it, fail.
  for (const m of statement.matchAll(/\bADD\s+(?:COLUMN\s+)?(?:IF\s+NOT\s+EXISTS\s+)?("?\w+"?)\s+([^,;]*)/gi)) {
    if (/\bNOT\s+NULL\b/i.test(m[2]!) && !/\bDEFAULT\b/i.test(m[2]!)) found.push(`adds ${m[1]} NOT NULL without a default`);
  }
  return found;
}

describe('schema migrations', () => {
  it.each(MIGRATIONS.map((m) => [m.name, m] as const))('%s only expands the schema (or declares itself a contract step)', async (_name, migration) => {
    if ((migration as Migration).contract) return;
    const statements = await statementsOf(migration as Migration);
    expect(statements.length).toBeGreaterThan(0);
    const problems = statements.flatMap((s) => contracting(s).map((what) => `${what}: ${s.replace(/\s+/g, ' ').slice(0, 160)}`));
    expect(problems).toEqual([]);
  });

  it('the check catches what a contract step does', () => {
    expect(contracting('ALTER TABLE instances DROP COLUMN node')).toEqual(['drops']);
    expect(contracting('ALTER TABLE migrations RENAME COLUMN status TO state')).toEqual(['renames']);
    expect(contracting('ALTER TABLE instances ALTER COLUMN host TYPE varchar(64)')).toEqual(['changes a column\'s type']);
    expect(contracting('ALTER TABLE instances ALTER COLUMN host SET NOT NULL')).toEqual(['makes a column NOT NULL']);
    expect(contracting('ALTER TABLE instances ADD COLUMN zone text NOT NULL')).toEqual(['adds zone NOT NULL without a default']);
    expect(contracting("ALTER TABLE instances ADD COLUMN zone text NOT NULL DEFAULT 'nova'")).toEqual([]);
    expect(contracting('ALTER TABLE instances ADD COLUMN zone text')).toEqual([]);
    expect(contracting('CREATE UNIQUE INDEX migrations_one_open_move_idx ON migrations (instance_uuid)')).toEqual([]);
  });
});
