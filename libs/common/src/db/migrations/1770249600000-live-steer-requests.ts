// Abort and force-complete of a running live migration are kept on its record, not only sent to the source: a request
// whose message is lost (the API died after answering, the bus dropped it) is still seen by the source's monitor.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class LiveSteerRequests1770249600000 implements MigrationInterface {
  name = 'LiveSteerRequests1770249600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      "ALTER TABLE migrations ADD COLUMN steer_request text CONSTRAINT migrations_steer_request_check CHECK (steer_request IN ('abort', 'force_complete'))",
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE migrations DROP COLUMN steer_request');
  }
}
