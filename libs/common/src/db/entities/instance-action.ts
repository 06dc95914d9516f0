// instance_actions: the per-server action log (`openstack server event list`).
import { Column, CreateDateColumn, DeleteDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

@Entity({ name: 'instance_actions' })
export class InstanceAction {
  @PrimaryGeneratedColumn({ type: 'integer', name: 'id' })
  id!: number;

  /** e.g. "resize", "confirmResize", "live-migration". */
  @Column({ type: 'text', name: 'action' })
  action!: string;

  @Column({ type: 'uuid', name: 'instance_uuid' })
  instance_uuid!: string;

  @Column({ type: 'text', name: 'request_id' })
  request_id!: string;

  @Column({ type: 'text', name: 'user_id', nullable: true })
  user_id!: string | null;

  @Column({ type: 'text', name: 'project_id', nullable: true })
  project_id!: string | null;

  @Column({ type: 'timestamptz', name: 'start_time' })
  start_time!: Date;

  @Column({ type: 'timestamptz', name: 'finish_time', nullable: true })
  finish_time!: Date | null;

  /** "Error" when an event failed, as Nova sets it. */
  @Column({ type: 'text', name: 'message', nullable: true })
  message!: string | null;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  created_at!: Date;

  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' })
  updated_at!: Date;

  @DeleteDateColumn({ type: 'timestamptz', name: 'deleted_at', nullable: true })
  deleted_at!: Date | null;
}
