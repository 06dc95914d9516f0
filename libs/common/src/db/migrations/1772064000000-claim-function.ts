// A claim as one round trip: the compute node's row lock, then the capacity check and insert, in a function. Inside a
// VOLATILE function every statement reads with a fresh snapshot, so the insert sees each claim committed before the
// lock was granted, as the second statement of a READ COMMITTED transaction would; the lock is held until the calling
// statement commits. Releases that claim through a transaction (lock, then check and insert) take the same row lock,
// so both kinds of claim serialise on it during a rolling upgrade.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ClaimFunction1772064000000 implements MigrationInterface {
  name = 'ClaimFunction1772064000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION ferry_claim_resources(p_consumer uuid, p_host text, p_vcpus integer, p_memory_mb integer, p_disk_gb integer)
      RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        holds boolean;
      BEGIN
        PERFORM 1 FROM compute_nodes WHERE host = p_host FOR UPDATE;
        IF NOT FOUND THEN
          RETURN false;
        END IF;
        -- A claim the consumer already holds here (a repeated request) counts as won and is not counted twice.
        WITH held AS (SELECT id FROM allocations WHERE consumer_uuid = p_consumer AND host = p_host),
             inserted AS (
               INSERT INTO allocations (consumer_uuid, host, vcpus, memory_mb, disk_gb)
               SELECT p_consumer, n.host, p_vcpus, p_memory_mb, p_disk_gb
                 FROM compute_nodes n,
                      LATERAL (SELECT coalesce(sum(a.vcpus), 0) AS vcpus, coalesce(sum(a.memory_mb), 0) AS memory_mb,
                                      coalesce(sum(a.disk_gb), 0) AS disk_gb
                                 FROM allocations a WHERE a.host = n.host) used
                WHERE n.host = p_host
                  AND NOT EXISTS (SELECT 1 FROM held)
                  AND (p_vcpus = 0 OR used.vcpus + p_vcpus <= floor((n.vcpus - n.reserved_vcpus) * n.cpu_allocation_ratio::float8))
                  AND (p_memory_mb = 0 OR used.memory_mb + p_memory_mb <= floor((n.memory_mb - n.reserved_memory_mb) * n.ram_allocation_ratio::float8))
                  AND (p_disk_gb = 0 OR used.disk_gb + p_disk_gb <= floor((n.local_gb - n.reserved_disk_gb) * n.disk_allocation_ratio::float8))
               ON CONFLICT (consumer_uuid, host) DO NOTHING
               RETURNING id)
        SELECT EXISTS (SELECT 1 FROM held) OR EXISTS (SELECT 1 FROM inserted) INTO holds;
        RETURN holds;
      END
      $$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP FUNCTION ferry_claim_resources(uuid, text, integer, integer, integer)');
  }
}
