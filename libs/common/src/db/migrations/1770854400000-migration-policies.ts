// A live migration records the policy it ran under (bandwidth, downtime, completion timeout, auto-converge, post-copy),
// each value with the place it came from, so an operator sees why a move behaved as it did.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class MigrationPolicies1770854400000 implements MigrationInterface {
  name = 'MigrationPolicies1770854400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE migrations ADD COLUMN migration_policy jsonb');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE migrations DROP COLUMN migration_policy');
  }
}
