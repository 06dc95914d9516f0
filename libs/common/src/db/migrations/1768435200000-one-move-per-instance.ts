// One move at a time per instance: at most one migration record that is not finished, enforced by the database.
import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Statuses that end a record in every migration type (see the tables in libs/common/src/domain/migration-machines.ts). */
export const ENDED = ['confirmed', 'reverted', 'completed', 'cancelled', 'error', 'failed'];

export class OneMovePerInstance1768435200000 implements MigrationInterface {
  name = 'OneMovePerInstance1768435200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // A redelivered prep message (or two racing ones) cannot create a second record for a move already under way.
    const ended = ENDED.map((s) => `'${s}'`).join(', ');
    await queryRunner.query(
      `CREATE UNIQUE INDEX migrations_one_open_move_idx ON migrations (instance_uuid) WHERE deleted_at IS NULL AND status NOT IN (${ended})`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX migrations_one_open_move_idx');
  }
}
