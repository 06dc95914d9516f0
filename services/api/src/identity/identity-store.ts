// Reads of users, projects and role assignments: what authentication and the identity routes look up.
import type { DataSource } from 'typeorm';
import { Project, RoleAssignment, User } from '@ferry/common/db';

export function findUserById(ds: DataSource, id: string): Promise<User | null> {
  return ds.getRepository(User).findOneBy({ id });
}

export function findUserByName(ds: DataSource, domainId: string, name: string): Promise<User | null> {
  return ds.getRepository(User).findOneBy({ domain_id: domainId, name });
}

export function findProjectById(ds: DataSource, id: string): Promise<Project | null> {
  return ds.getRepository(Project).findOneBy({ id });
}

export function findProjectByName(ds: DataSource, domainId: string, name: string): Promise<Project | null> {
  return ds.getRepository(Project).findOneBy({ domain_id: domainId, name });
}

/** Names of the roles assigned to the user on the project (implied roles not included). */
export async function assignedRoles(ds: DataSource, userId: string, projectId: string): Promise<string[]> {
  const rows = await ds.getRepository(RoleAssignment).find({ where: { user_id: userId, project_id: projectId }, order: { role: 'ASC' } });
  return rows.map((r) => r.role);
}

/** Enabled projects on which the user holds any role. */
export async function projectsOfUser(ds: DataSource, userId: string): Promise<Project[]> {
  return ds.getRepository(Project)
    .createQueryBuilder('p')
    .where('p.enabled')
    .andWhere('EXISTS (SELECT 1 FROM role_assignments ra WHERE ra.project_id = p.id AND ra.user_id = :userId)', { userId })
    .orderBy('p.name')
    .getMany();
}

/** The filters Keystone's project and user lists take. */
export interface ListFilter {
  name?: string;
  domain_id?: string;
  enabled?: boolean;
}

export function listProjects(ds: DataSource, filter: ListFilter): Promise<Project[]> {
  return ds.getRepository(Project).find({ where: { ...filter }, order: { name: 'ASC' } });
}

export function listUsers(ds: DataSource, filter: ListFilter): Promise<User[]> {
  return ds.getRepository(User).find({ where: { ...filter }, order: { name: 'ASC' } });
}
