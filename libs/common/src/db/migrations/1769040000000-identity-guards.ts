// Identity guards: failed-login counts for Keystone-style lockout, and a revision every API process watches
// so that a revoked token, a removed role or a disabled user stops working everywhere within a second.
import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The changes that can take rights away from a token someone already holds. */
const REVOKING_CHANGES: readonly [table: string, events: string][] = [
  ['tokens', 'UPDATE OF revoked OR DELETE'],
  ['role_assignments', 'INSERT OR UPDATE OR DELETE'],
  ['users', 'UPDATE OF enabled, password_hash OR DELETE'],
  ['projects', 'UPDATE OF enabled OR DELETE'],
];

export class IdentityGuards1769040000000 implements MigrationInterface {
  name = 'IdentityGuards1769040000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE users ADD COLUMN failed_auth_count integer NOT NULL DEFAULT 0');
    await queryRunner.query('ALTER TABLE users ADD COLUMN failed_auth_at timestamptz');
    await queryRunner.query('CREATE SEQUENCE identity_revision');
    await queryRunner.query(`CREATE FUNCTION bump_identity_revision() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM nextval('identity_revision');
        RETURN NULL;
      END $$`);
    for (const [table, events] of REVOKING_CHANGES) {
      await queryRunner.query(
        `CREATE TRIGGER ${table}_identity_revision AFTER ${events} ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION bump_identity_revision()`,
      );
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const [table] of REVOKING_CHANGES) await queryRunner.query(`DROP TRIGGER ${table}_identity_revision ON ${table}`);
    await queryRunner.query('DROP FUNCTION bump_identity_revision()');
    await queryRunner.query('DROP SEQUENCE identity_revision');
    await queryRunner.query('ALTER TABLE users DROP COLUMN failed_auth_at');
    await queryRunner.query('ALTER TABLE users DROP COLUMN failed_auth_count');
  }
}
