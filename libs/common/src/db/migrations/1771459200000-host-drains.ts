// Host drains: one row per operator request to move every instance off a host. The row holds the plan (which
// instances, in which order, how); each instance's progress is read from its move records and instance row.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class HostDrains1771459200000 implements MigrationInterface {
  name = 'HostDrains1771459200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE host_drains (
        id uuid PRIMARY KEY,
        host text NOT NULL,
        mode text NOT NULL CONSTRAINT host_drains_mode_check CHECK (mode IN ('live', 'cold', 'auto')),
        concurrency integer NOT NULL CONSTRAINT host_drains_concurrency_check CHECK (concurrency > 0),
        status text NOT NULL CONSTRAINT host_drains_status_check CHECK (status IN ('running', 'cancelling', 'cancelled', 'completed')),
        plan jsonb NOT NULL,
        dispatched jsonb NOT NULL DEFAULT '{}'::jsonb,
        refused jsonb NOT NULL DEFAULT '{}'::jsonb,
        request_context jsonb NOT NULL,
        service_disabled boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        cancelled_at timestamptz,
        finished_at timestamptz
      )`);
    // One open drain per host: a second request for a host already draining is refused by the database.
    await queryRunner.query(`CREATE UNIQUE INDEX host_drains_one_open_idx ON host_drains (host) WHERE status IN ('running', 'cancelling')`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE host_drains');
  }
}
