// Inserts a migration record in a status its type may start in; the one way a status is written without a CAS.
import { randomUUID } from 'node:crypto';
import type { DataSource, Repository } from 'typeorm';
import { assertMigrationCreation, migrationMachine, type MigrationType, type ServiceRole } from '../../domain';
import { serviceState, type ServiceRecord } from '../../service/status';
import { Migration } from '../entities';

export type NewMigration = Partial<Omit<Migration, 'id' | 'created_at' | 'updated_at' | 'deleted_at'>> & {
  instance_uuid: string;
  migration_type: MigrationType;
  /** Defaults to the type's initial status. */
  status?: string;
};

/** The row to insert, after checking that its type may start in its status and that `by` may create it so. */
function newRecord(repo: Repository<Migration>, fields: NewMigration, by: ServiceRole): Migration {
  const status = fields.status ?? migrationMachine(fields.migration_type).initial;
  assertMigrationCreation(fields.migration_type, status, by);
  return repo.create({ ...fields, status, uuid: fields.uuid ?? randomUUID() });
}

/** Inserts the record after checking that its type may start in its status and that `by` may create it so. */
export async function createMigration(ds: DataSource, fields: NewMigration, by: ServiceRole): Promise<Migration> {
  const repo = ds.getRepository(Migration);
  // One INSERT … RETURNING: atomic by itself, so no transaction around it (three round trips become one).
  return repo.save(newRecord(repo, fields, by), { transaction: false });
}

/** A service whose being down the new record depends on. */
export interface DownService {
  host: string;
  binary: string;
  /** No heartbeat for longer than this (on the database clock), or forced down, is down. */
  downSeconds: number;
}

/**
 * Inserts the record only while `service` is down, holding its services row from the check to the commit; null, and
 * nothing inserted, when it is up. A heartbeat writes that row, so it cannot slip between the two: one that came
 * first makes the check fail, one that comes after waits for (or skips) the lock, and the service, which looks for
 * such records only after a heartbeat has landed, finds this one. A host without a services row counts as down.
 */
export async function createMigrationWhileDown(ds: DataSource, fields: NewMigration, by: ServiceRole, service: DownService): Promise<Migration | null> {
  const record = newRecord(ds.getRepository(Migration), fields, by);
  return ds.transaction(async (em) => {
    const rows: (ServiceRecord & { now: Date })[] = await em.query(
      `SELECT host, "binary", topic, disabled, forced_down, last_seen_up, now() AS now
         FROM services WHERE host = $1 AND "binary" = $2 FOR UPDATE`,
      [service.host, service.binary],
    );
    if (rows.some((r) => serviceState(r, new Date(r.now), service.downSeconds).state === 'up')) return null;
    return em.getRepository(Migration).save(record);
  });
}
