// compute_nodes: one per compute host — capacity, usage, and what the scheduler and move checks compare.
import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

@Entity({ name: 'compute_nodes' })
export class ComputeNode {
  @PrimaryGeneratedColumn({ type: 'integer', name: 'id' })
  id!: number;

  @Column({ type: 'uuid', name: 'uuid' })
  uuid!: string;

  /** The compute service's host name; Ferry runs one node per host. */
  @Column({ type: 'text', name: 'host' })
  host!: string;

  @Column({ type: 'text', name: 'hypervisor_hostname' })
  hypervisor_hostname!: string;

  @Column({ type: 'text', name: 'hypervisor_type' })
  hypervisor_type!: string;

  /** Zone the host belongs to, as its compute service reports it (FERRY_AVAILABILITY_ZONE). */
  @Column({ type: 'text', name: 'availability_zone', default: 'nova' })
  availability_zone!: string;

  /** Address other hosts use to reach this one (disk copies, live-migration streams). */
  @Column({ type: 'text', name: 'host_ip', nullable: true })
  host_ip!: string | null;

  @Column({ type: 'integer', name: 'vcpus' })
  vcpus!: number;

  @Column({ type: 'integer', name: 'memory_mb' })
  memory_mb!: number;

  @Column({ type: 'integer', name: 'local_gb' })
  local_gb!: number;

  @Column({ type: 'integer', name: 'vcpus_used', default: 0 })
  vcpus_used!: number;

  @Column({ type: 'integer', name: 'memory_mb_used', default: 0 })
  memory_mb_used!: number;

  @Column({ type: 'integer', name: 'local_gb_used', default: 0 })
  local_gb_used!: number;

  @Column({ type: 'integer', name: 'running_vms', default: 0 })
  running_vms!: number;

  @Column({ type: 'real', name: 'cpu_allocation_ratio', default: 16 })
  cpu_allocation_ratio!: number;

  @Column({ type: 'real', name: 'ram_allocation_ratio', default: 1.5 })
  ram_allocation_ratio!: number;

  @Column({ type: 'real', name: 'disk_allocation_ratio', default: 1 })
  disk_allocation_ratio!: number;

  @Column({ type: 'integer', name: 'reserved_vcpus', default: 0 })
  reserved_vcpus!: number;

  @Column({ type: 'integer', name: 'reserved_memory_mb', default: 0 })
  reserved_memory_mb!: number;

  @Column({ type: 'integer', name: 'reserved_disk_gb', default: 0 })
  reserved_disk_gb!: number;

  @Column({ type: 'text', name: 'cpu_model' })
  cpu_model!: string;

  /** Feature flags, e.g. supports_live_migrate_rescued. */
  @Column({ type: 'jsonb', name: 'capabilities', default: () => "'{}'" })
  capabilities!: Record<string, boolean>;

  /** Identifies the instance storage; hosts with the same id share it (no disk copy needed). */
  @Column({ type: 'text', name: 'storage_id' })
  storage_id!: string;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  created_at!: Date;

  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' })
  updated_at!: Date;
}
