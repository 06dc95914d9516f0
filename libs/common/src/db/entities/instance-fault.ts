// instance_faults: the last errors an instance hit, shown as the server's `fault`.
import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity({ name: 'instance_faults' })
export class InstanceFault {
  @PrimaryGeneratedColumn({ type: 'integer', name: 'id' })
  id!: number;

  @Column({ type: 'uuid', name: 'instance_uuid' })
  instance_uuid!: string;

  /** HTTP-style code, as Nova stores it (500 for unexpected failures). */
  @Column({ type: 'integer', name: 'code' })
  code!: number;

  @Column({ type: 'text', name: 'message' })
  message!: string;

  @Column({ type: 'text', name: 'details', nullable: true })
  details!: string | null;

  @Column({ type: 'text', name: 'host', nullable: true })
  host!: string | null;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  created_at!: Date;
}
