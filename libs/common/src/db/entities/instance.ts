// instances: one row per server; the host column names the one place it runs.
import { Column, CreateDateColumn, DeleteDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** The flavor as it was when applied to the instance (Nova embeds a copy, so later flavor edits do not move it). */
export interface InstanceFlavor {
  id: number;
  flavorid: string;
  name: string;
  vcpus: number;
  memory_mb: number;
  root_gb: number;
  ephemeral_gb: number;
  swap: number;
  extra_specs: Record<string, string>;
}

@Entity({ name: 'instances' })
export class Instance {
  @PrimaryColumn({ type: 'uuid', name: 'uuid' })
  uuid!: string;

  @Column({ type: 'text', name: 'display_name', default: '' })
  display_name!: string;

  @Column({ type: 'text', name: 'project_id' })
  project_id!: string;

  @Column({ type: 'text', name: 'user_id' })
  user_id!: string;

  @Column({ type: 'text', name: 'host', nullable: true })
  host!: string | null;

  @Column({ type: 'text', name: 'node', nullable: true })
  node!: string | null;

  @Column({ type: 'jsonb', name: 'flavor' })
  flavor!: InstanceFlavor;

  @Column({ type: 'jsonb', name: 'old_flavor', nullable: true })
  old_flavor!: InstanceFlavor | null;

  @Column({ type: 'jsonb', name: 'new_flavor', nullable: true })
  new_flavor!: InstanceFlavor | null;

  @Column({ type: 'text', name: 'image_ref' })
  image_ref!: string;

  @Column({ type: 'text', name: 'vm_state' })
  vm_state!: string;

  @Column({ type: 'text', name: 'task_state', nullable: true })
  task_state!: string | null;

  @Column({ type: 'integer', name: 'power_state', default: 0 })
  power_state!: number;

  /** Percent done of the current move, shown as `progress` by the API. */
  @Column({ type: 'integer', name: 'progress', default: 0 })
  progress!: number;

  @Column({ type: 'boolean', name: 'locked', default: false })
  locked!: boolean;

  /** 'owner' or 'admin' (Nova's locked_by), null when unlocked. */
  @Column({ type: 'text', name: 'locked_by', nullable: true })
  locked_by!: string | null;

  @Column({ type: 'text', name: 'locked_reason', nullable: true })
  locked_reason!: string | null;

  /** Image the rescue environment booted from, while rescued. */
  @Column({ type: 'text', name: 'rescue_image_ref', nullable: true })
  rescue_image_ref!: string | null;

  /** vm_state to return to on unrescue (Nova keeps it as old_vm_state in system metadata). */
  @Column({ type: 'text', name: 'pre_rescue_vm_state', nullable: true })
  pre_rescue_vm_state!: string | null;

  @Column({ type: 'timestamptz', name: 'rescued_at', nullable: true })
  rescued_at!: Date | null;

  /** User metadata (the API's `metadata`). */
  @Column({ type: 'jsonb', name: 'metadata', default: () => "'{}'" })
  metadata!: Record<string, string>;

  /** Ferry's own per-instance bookkeeping (Nova's system_metadata), e.g. old_vm_state during a resize. */
  @Column({ type: 'jsonb', name: 'system_metadata', default: () => "'{}'" })
  system_metadata!: Record<string, string>;

  @Column({ type: 'timestamptz', name: 'launched_at', nullable: true })
  launched_at!: Date | null;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  created_at!: Date;

  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' })
  updated_at!: Date;

  @DeleteDateColumn({ type: 'timestamptz', name: 'deleted_at', nullable: true })
  deleted_at!: Date | null;
}
