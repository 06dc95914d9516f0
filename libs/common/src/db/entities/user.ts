// users: who may obtain a token; only a password hash is stored.
import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

@Entity({ name: 'users' })
export class User {
  @PrimaryColumn({ type: 'text', name: 'id' })
  id!: string;

  @Column({ type: 'text', name: 'name' })
  name!: string;

  @Column({ type: 'text', name: 'domain_id', default: 'default' })
  domain_id!: string;

  /** A self-describing hash (algorithm and salt included); never the password. */
  @Column({ type: 'text', name: 'password_hash' })
  password_hash!: string;

  @Column({ type: 'text', name: 'default_project_id', nullable: true })
  default_project_id!: string | null;

  @Column({ type: 'boolean', name: 'enabled', default: true })
  enabled!: boolean;

  /** Failed password logins counted since failed_auth_at's window began (Keystone's lockout). */
  @Column({ type: 'integer', name: 'failed_auth_count', default: 0 })
  failed_auth_count!: number;

  @Column({ type: 'timestamptz', name: 'failed_auth_at', nullable: true })
  failed_auth_at!: Date | null;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  created_at!: Date;

  @UpdateDateColumn({ type: 'timestamptz', name: 'updated_at' })
  updated_at!: Date;
}
