// migrations: one row per move (Nova's fields), the work queue of record for every flow.
import { Column, CreateDateColumn, DeleteDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { PolicyInForce } from '../../domain/migration-policy';
import { bigintAsNumber } from './column-types';

/** When each phase started and ended, keyed by phase name (e.g. "copy_pass_1": {started_at, finished_at}). */
export type PhaseTimings = Record<string, { started_at?: string; finished_at?: string; [key: string]: unknown }>;

@Entity({ name: 'migrations' })
export class Migration {
  @PrimaryGeneratedColumn({ type: 'integer', name: 'id' })
  id!: number;

  @Column({ type: 'uuid', name: 'uuid' })
  uuid!: string;

  @Column({ type: 'uuid', name: 'instance_uuid' })
  instance_uuid!: string;

  @Column({ type: 'text', name: 'source_compute', nullable: true })
  source_compute!: string | null;

  @Column({ type: 'text', name: 'dest_compute', nullable: true })
  dest_compute!: string | null;

  @Column({ type: 'text', name: 'source_node', nullable: true })
  source_node!: string | null;

  @Column({ type: 'text', name: 'dest_node', nullable: true })
  dest_node!: string | null;

  /** The destination's address (Nova's dest_host). */
  @Column({ type: 'text', name: 'dest_host', nullable: true })
  dest_host!: string | null;

  /** flavors.id before and after (Nova's instance_type ids). */
  @Column({ type: 'integer', name: 'old_instance_type_id', nullable: true })
  old_instance_type_id!: number | null;

  @Column({ type: 'integer', name: 'new_instance_type_id', nullable: true })
  new_instance_type_id!: number | null;

  /** Written only through the compare-and-set helpers (advanceMigration, createMigration). */
  @Column({ type: 'text', name: 'status' })
  status!: string;

  @Column({ type: 'text', name: 'migration_type' })
  migration_type!: string;

  @Column({ type: 'boolean', name: 'hidden', default: false })
  hidden!: boolean;

  @Column({ type: 'bigint', name: 'memory_total', nullable: true, transformer: bigintAsNumber })
  memory_total!: number | null;

  @Column({ type: 'bigint', name: 'memory_processed', nullable: true, transformer: bigintAsNumber })
  memory_processed!: number | null;

  @Column({ type: 'bigint', name: 'memory_remaining', nullable: true, transformer: bigintAsNumber })
  memory_remaining!: number | null;

  @Column({ type: 'bigint', name: 'disk_total', nullable: true, transformer: bigintAsNumber })
  disk_total!: number | null;

  @Column({ type: 'bigint', name: 'disk_processed', nullable: true, transformer: bigintAsNumber })
  disk_processed!: number | null;

  @Column({ type: 'bigint', name: 'disk_remaining', nullable: true, transformer: bigintAsNumber })
  disk_remaining!: number | null;

  @Column({ type: 'boolean', name: 'cross_cell_move', default: false })
  cross_cell_move!: boolean;

  @Column({ type: 'text', name: 'user_id', nullable: true })
  user_id!: string | null;

  @Column({ type: 'text', name: 'project_id', nullable: true })
  project_id!: string | null;

  @Column({ type: 'jsonb', name: 'phase_timings', default: () => "'{}'" })
  phase_timings!: PhaseTimings;

  /** The flow's parameters recovery needs to resume it (e.g. block_migration, the requested host). */
  @Column({ type: 'jsonb', name: 'migrate_data', default: () => "'{}'" })
  migrate_data!: Record<string, unknown>;

  @Column({ type: 'text', name: 'last_error', nullable: true })
  last_error!: string | null;

  /** A running live migration's abort or force-complete as asked (the source's monitor applies it, message or not). */
  @Column({ type: 'text', name: 'steer_request', nullable: true })
  steer_request!: 'abort' | 'force_complete' | null;

  /** A live migration's policy as it started: each knob's value and where it came from (server, image, flavor, default). */
  @Column({ type: 'jsonb', name: 'migration_policy', nullable: true })
  migration_policy!: PolicyInForce | null;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  created_at!: Date;

  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' })
  updated_at!: Date;

  @DeleteDateColumn({ type: 'timestamptz', name: 'deleted_at', nullable: true })
  deleted_at!: Date | null;
}
