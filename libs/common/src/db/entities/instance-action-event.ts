// instance_action_events: the steps of an action (e.g. compute_prep_resize), each with its host and result.
import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

@Entity({ name: 'instance_action_events' })
export class InstanceActionEvent {
  @PrimaryGeneratedColumn({ type: 'integer', name: 'id' })
  id!: number;

  @Column({ type: 'integer', name: 'action_id' })
  action_id!: number;

  @Column({ type: 'text', name: 'event' })
  event!: string;

  @Column({ type: 'timestamptz', name: 'start_time' })
  start_time!: Date;

  @Column({ type: 'timestamptz', name: 'finish_time', nullable: true })
  finish_time!: Date | null;

  /** "Success" or "Error"; null while running. */
  @Column({ type: 'text', name: 'result', nullable: true })
  result!: string | null;

  @Column({ type: 'text', name: 'traceback', nullable: true })
  traceback!: string | null;

  @Column({ type: 'text', name: 'host', nullable: true })
  host!: string | null;

  @Column({ type: 'text', name: 'details', nullable: true })
  details!: string | null;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  created_at!: Date;

  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' })
  updated_at!: Date;
}
