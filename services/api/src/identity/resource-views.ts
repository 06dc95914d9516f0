// Projects and users as Keystone's v3 API shows them.
import type { Project, User } from '@ferry/common/db';

export function projectView(p: Project, baseUrl: string) {
  return {
    id: p.id,
    name: p.name,
    domain_id: p.domain_id,
    description: p.description ?? '',
    enabled: p.enabled,
    parent_id: p.domain_id,
    is_domain: false,
    tags: [],
    options: {},
    links: { self: `${baseUrl}/identity/v3/projects/${p.id}` },
  };
}

export function userView(u: User, baseUrl: string) {
  return {
    id: u.id,
    name: u.name,
    domain_id: u.domain_id,
    enabled: u.enabled,
    ...(u.default_project_id ? { default_project_id: u.default_project_id } : {}),
    password_expires_at: null,
    options: {},
    links: { self: `${baseUrl}/identity/v3/users/${u.id}` },
  };
}

/** Keystone's collection links (Ferry does not page identity lists). */
export function collectionLinks(selfUrl: string) {
  return { self: selfUrl, previous: null, next: null };
}
