// flavors: the sizes an instance can have.
import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

@Entity({ name: 'flavors' })
export class Flavor {
  @PrimaryGeneratedColumn({ type: 'integer', name: 'id' })
  id!: number;

  /** The id the API shows (a string in Nova, '1'..'5' for the classic flavors). */
  @Column({ type: 'text', name: 'flavorid' })
  flavorid!: string;

  @Column({ type: 'text', name: 'name' })
  name!: string;

  @Column({ type: 'integer', name: 'vcpus' })
  vcpus!: number;

  @Column({ type: 'integer', name: 'memory_mb' })
  memory_mb!: number;

  @Column({ type: 'integer', name: 'root_gb' })
  root_gb!: number;

  @Column({ type: 'integer', name: 'ephemeral_gb', default: 0 })
  ephemeral_gb!: number;

  /** Swap in MB (0 = none). */
  @Column({ type: 'integer', name: 'swap', default: 0 })
  swap!: number;

  @Column({ type: 'real', name: 'rxtx_factor', default: 1 })
  rxtx_factor!: number;

  @Column({ type: 'boolean', name: 'is_public', default: true })
  is_public!: boolean;

  @Column({ type: 'boolean', name: 'disabled', default: false })
  disabled!: boolean;

  @Column({ type: 'text', name: 'description', nullable: true })
  description!: string | null;

  @Column({ type: 'jsonb', name: 'extra_specs', default: () => "'{}'" })
  extra_specs!: Record<string, string>;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  created_at!: Date;

  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' })
  updated_at!: Date;
}
