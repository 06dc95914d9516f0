// The scheduler writes instances and migration statuses only through the checked writers: the instance writes its
// table lists (updateInstanceAsScheduler, advanceInstanceTaskAsScheduler) and the migration steps the state machines
// give the scheduler role (advanceMigration, createMigration). A direct write would bypass both tables.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

const UNCHECKED_WRITES: [string, RegExp][] = [
  ['updateInstanceIf', /\bupdateInstanceIf\(/],
  ['advanceInstanceTask', /\badvanceInstanceTask\(/],
  ['a raw UPDATE of instances', /UPDATE\s+instances\b/i],
  ['a query builder update of Instance', /\.update\(\s*Instance\b/],
  ['a raw write of a migration status', /UPDATE\s+migrations\s+SET[^`']*\bstatus\s*=/i],
  ['a query builder update of Migration', /\.update\(\s*Migration\b/],
];

describe('scheduler writes', () => {
  const files = sources(__dirname);

  it('finds the scheduler sources', () => {
    expect(files.some((f) => f.endsWith('manager.ts'))).toBe(true);
  });

  it.each(UNCHECKED_WRITES)('never makes %s', (_name, pattern) => {
    expect(files.filter((f) => pattern.test(readFileSync(f, 'utf8')))).toEqual([]);
  });
});
