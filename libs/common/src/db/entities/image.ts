// images: what instances boot from (the Image API v2 subset Ferry serves).
import { Column, CreateDateColumn, DeleteDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { bigintAsNumber } from './column-types';

@Entity({ name: 'images' })
export class Image {
  @PrimaryColumn({ type: 'uuid', name: 'id' })
  id!: string;

  @Column({ type: 'text', name: 'name' })
  name!: string;

  @Column({ type: 'text', name: 'status', default: 'active' })
  status!: string;

  @Column({ type: 'text', name: 'visibility', default: 'public' })
  visibility!: string;

  @Column({ type: 'text', name: 'disk_format' })
  disk_format!: string;

  @Column({ type: 'text', name: 'container_format', default: 'bare' })
  container_format!: string;

  @Column({ type: 'bigint', name: 'size', nullable: true, transformer: bigintAsNumber })
  size!: number | null;

  @Column({ type: 'bigint', name: 'virtual_size', nullable: true, transformer: bigintAsNumber })
  virtual_size!: number | null;

  @Column({ type: 'integer', name: 'min_disk', default: 0 })
  min_disk!: number;

  @Column({ type: 'integer', name: 'min_ram', default: 0 })
  min_ram!: number;

  @Column({ type: 'text', name: 'checksum', nullable: true })
  checksum!: string | null;

  /** Owning project; null for images every project may use. */
  @Column({ type: 'text', name: 'owner', nullable: true })
  owner!: string | null;

  @Column({ type: 'boolean', name: 'protected', default: false })
  protected!: boolean;

  /** Where a driver finds the image bytes; null when the driver builds its own stand-in disk. */
  @Column({ type: 'text', name: 'location', nullable: true })
  location!: string | null;

  @Column({ type: 'jsonb', name: 'properties', default: () => "'{}'" })
  properties!: Record<string, string>;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  created_at!: Date;

  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' })
  updated_at!: Date;

  @DeleteDateColumn({ type: 'timestamptz', name: 'deleted_at', nullable: true })
  deleted_at!: Date | null;
}
