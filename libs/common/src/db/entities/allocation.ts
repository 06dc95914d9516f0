// allocations: resources a consumer (an instance, or a migration holding the source side) claims on a host.
import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

@Entity({ name: 'allocations' })
export class Allocation {
  @PrimaryGeneratedColumn({ type: 'integer', name: 'id' })
  id!: number;

  /** Instance uuid, or a migration uuid while the migration holds the source host's claim. */
  @Column({ type: 'uuid', name: 'consumer_uuid' })
  consumer_uuid!: string;

  @Column({ type: 'text', name: 'host' })
  host!: string;

  @Column({ type: 'integer', name: 'vcpus' })
  vcpus!: number;

  @Column({ type: 'integer', name: 'memory_mb' })
  memory_mb!: number;

  @Column({ type: 'integer', name: 'disk_gb' })
  disk_gb!: number;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  created_at!: Date;

  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' })
  updated_at!: Date;
}
