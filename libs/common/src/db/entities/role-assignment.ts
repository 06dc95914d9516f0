// role_assignments: a user's role on a project (e.g. admin, member).
import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity({ name: 'role_assignments' })
export class RoleAssignment {
  @PrimaryGeneratedColumn({ type: 'integer', name: 'id' })
  id!: number;

  @Column({ type: 'text', name: 'user_id' })
  user_id!: string;

  @Column({ type: 'text', name: 'project_id' })
  project_id!: string;

  @Column({ type: 'text', name: 'role' })
  role!: string;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  created_at!: Date;
}
