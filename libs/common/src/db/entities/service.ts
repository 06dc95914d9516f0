// services: one row per (host, binary) — the heartbeat that says whether a service is up.
import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

@Entity({ name: 'services' })
export class Service {
  @PrimaryGeneratedColumn({ type: 'integer', name: 'id' })
  id!: number;

  @Column({ type: 'text', name: 'host' })
  host!: string;

  @Column({ type: 'text', name: 'binary' })
  binary!: string;

  @Column({ type: 'text', name: 'topic' })
  topic!: string;

  @Column({ type: 'boolean', name: 'disabled', default: false })
  disabled!: boolean;

  @Column({ type: 'text', name: 'disabled_reason', nullable: true })
  disabled_reason!: string | null;

  @Column({ type: 'boolean', name: 'forced_down', default: false })
  forced_down!: boolean;

  /** Database time of the last heartbeat. */
  @Column({ type: 'timestamptz', name: 'last_seen_up', nullable: true })
  last_seen_up!: Date | null;

  @Column({ type: 'integer', name: 'report_count', default: 0 })
  report_count!: number;

  /** Random token of the process that serves this (host, binary) now; null when none holds the lease. */
  @Column({ type: 'uuid', name: 'lease_owner', nullable: true })
  lease_owner!: string | null;

  /** Database time after which another process may take the lease (its owner stopped renewing it). */
  @Column({ type: 'timestamptz', name: 'lease_expires_at', nullable: true })
  lease_expires_at!: Date | null;

  /** Process id and machine of the lease owner, so a refused second process can say who serves the host. */
  @Column({ type: 'integer', name: 'lease_pid', nullable: true })
  lease_pid!: number | null;

  @Column({ type: 'text', name: 'lease_machine', nullable: true })
  lease_machine!: string | null;

  @Column({ type: 'text', name: 'version' })
  version!: string;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  created_at!: Date;

  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' })
  updated_at!: Date;
}
