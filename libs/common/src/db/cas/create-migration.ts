// Inserts a migration record in a status its type may start in; the one way a status is written without a CAS.
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { assertMigrationCreation, migrationMachine, type MigrationType, type ServiceRole } from '../../domain';
import { Migration } from '../entities';

export type NewMigration = Partial<Omit<Migration, 'id' | 'created_at' | 'updated_at' | 'deleted_at'>> & {
  instance_uuid: string;
  migration_type: MigrationType;
  /** Defaults to the type's initial status. */
  status?: string;
};

/** Inserts the record after checking that its type may start in its status and that `by` may create it so. */
export async function createMigration(ds: DataSource, fields: NewMigration, by: ServiceRole): Promise<Migration> {
  const status = fields.status ?? migrationMachine(fields.migration_type).initial;
  assertMigrationCreation(fields.migration_type, status, by);
  const repo = ds.getRepository(Migration);
  // One INSERT … RETURNING: atomic by itself, so no transaction around it (three round trips become one).
  return repo.save(repo.create({ ...fields, status, uuid: fields.uuid ?? randomUUID() }), { transaction: false });
}
