// Service leases: the process serving a (host, binary) claims its services row with a random owner token, so a
// second process started for the same host refuses to run instead of repeating the first one's steps.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ServiceLeases1769644800000 implements MigrationInterface {
  name = 'ServiceLeases1769644800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE services ADD COLUMN lease_owner uuid');
    await queryRunner.query('ALTER TABLE services ADD COLUMN lease_expires_at timestamptz');
    await queryRunner.query('ALTER TABLE services ADD COLUMN lease_pid integer');
    await queryRunner.query('ALTER TABLE services ADD COLUMN lease_machine text');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE services DROP COLUMN lease_machine');
    await queryRunner.query('ALTER TABLE services DROP COLUMN lease_pid');
    await queryRunner.query('ALTER TABLE services DROP COLUMN lease_expires_at');
    await queryRunner.query('ALTER TABLE services DROP COLUMN lease_owner');
  }
}
