// Availability zones: each compute host reports the zone it belongs to, and the scheduler filters on it.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ComputeNodeAvailabilityZone1767830400000 implements MigrationInterface {
  name = 'ComputeNodeAvailabilityZone1767830400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // Nova's default zone: a host nobody placed in a zone is in 'nova'.
    await queryRunner.query(`ALTER TABLE compute_nodes ADD COLUMN availability_zone text NOT NULL DEFAULT 'nova'`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE compute_nodes DROP COLUMN availability_zone');
  }
}
