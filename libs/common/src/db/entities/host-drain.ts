// host_drains: one row per drain of a host (what the operator asked, the plan, which moves it started).
import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { DrainMode, DrainPlanItem, DrainStatus } from '../../domain';

@Entity({ name: 'host_drains' })
export class HostDrain {
  @PrimaryColumn({ type: 'uuid', name: 'id' })
  id!: string;

  @Column({ type: 'text', name: 'host' })
  host!: string;

  @Column({ type: 'text', name: 'mode' })
  mode!: DrainMode;

  /** Moves off the host at once (the per-host limit for this drain). */
  @Column({ type: 'integer', name: 'concurrency' })
  concurrency!: number;

  @Column({ type: 'text', name: 'status' })
  status!: DrainStatus;

  /** Every instance the host had when the drain began, in the order it moves them. */
  @Column({ type: 'jsonb', name: 'plan' })
  plan!: DrainPlanItem[];

  /** When the drain started each instance's move (ISO time by uuid): a move is started at most once per drain. */
  @Column({ type: 'jsonb', name: 'dispatched', default: () => "'{}'::jsonb" })
  dispatched!: Record<string, string>;

  /** Instances whose move could not be started, with the reason (by uuid). */
  @Column({ type: 'jsonb', name: 'refused', default: () => "'{}'::jsonb" })
  refused!: Record<string, string>;

  /** Who asked (ids and roles): the moves record their instance actions under this request. */
  @Column({ type: 'jsonb', name: 'request_context' })
  request_context!: { request_id: string; global_request_id?: string; user_id?: string; project_id?: string; roles: string[] };

  /** Whether the host's compute service was disabled for this drain. */
  @Column({ type: 'boolean', name: 'service_disabled', default: false })
  service_disabled!: boolean;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  created_at!: Date;

  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' })
  updated_at!: Date;

  @Column({ type: 'timestamptz', name: 'cancelled_at', nullable: true })
  cancelled_at!: Date | null;

  @Column({ type: 'timestamptz', name: 'finished_at', nullable: true })
  finished_at!: Date | null;
}
