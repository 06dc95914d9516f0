// Brings a database's schema up to date: one transaction under an advisory lock, so concurrent runs serialize.
import { MigrationExecutor, type DataSource } from 'typeorm';

/**
 * Key of the transaction-scoped advisory lock every `migrate` takes (ASCII "FERRYDB").
 * Embedded PGlite has a single session, where advisory locks never block; there the socket server's
 * rule that an open transaction owns the session serializes concurrent runs instead.
 */
export const MIGRATE_LOCK_KEY = '19779468240962626';

export interface MigrateResult {
  /** Names of the migrations this call applied, oldest first (empty when the schema was current). */
  applied: string[];
}

export async function migrate(ds: DataSource): Promise<MigrateResult> {
  const runner = ds.createQueryRunner();
  try {
    await runner.connect();
    await runner.startTransaction();
    try {
      await runner.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATE_LOCK_KEY]);
      const executor = new MigrationExecutor(ds, runner);
      // 'all' inside our own transaction: the executor sees one is active and neither begins nor commits.
      executor.transaction = 'all';
      const done = await executor.executePendingMigrations();
      await runner.commitTransaction();
      return { applied: done.map((m) => m.name) };
    } catch (err) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw err;
    }
  } finally {
    await runner.release();
  }
}
