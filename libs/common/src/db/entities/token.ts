// tokens: issued identity tokens, stored by hash so a database dump does not hand out credentials.
import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'tokens' })
export class Token {
  /** Hex SHA-256 of the token id the client holds. */
  @PrimaryColumn({ type: 'text', name: 'id_hash' })
  id_hash!: string;

  @Column({ type: 'text', name: 'user_id' })
  user_id!: string;

  /** The project the token is scoped to; null for an unscoped token. */
  @Column({ type: 'text', name: 'project_id', nullable: true })
  project_id!: string | null;

  /** Keystone's audit id: identifies the token in logs without revealing it. */
  @Column({ type: 'text', name: 'audit_id' })
  audit_id!: string;

  @Column({ type: 'timestamptz', name: 'expires_at' })
  expires_at!: Date;

  @Column({ type: 'boolean', name: 'revoked', default: false })
  revoked!: boolean;

  @CreateDateColumn({ type: 'timestamptz', name: 'issued_at' })
  issued_at!: Date;
}
