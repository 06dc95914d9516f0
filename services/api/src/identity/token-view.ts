// The token body Keystone returns on issue and validation, which keystoneauth reads into its AccessInfo.
import { DEFAULT_DOMAIN } from '@ferry/common/db';
import { serviceCatalog } from './catalog';
import { effectiveRoles } from './roles';
import type { TokenRecord } from './token-store';

export interface TokenViewOptions {
  baseUrl: string;
  region: string;
  /** `?nocatalog` leaves the catalog out. */
  catalog: boolean;
}

/** Keystone's timestamps: UTC with microseconds, e.g. 2026-01-07T10:00:00.000000Z. */
export function keystoneTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function domainRef(domainId: string) {
  return { id: domainId, name: domainId === DEFAULT_DOMAIN.id ? DEFAULT_DOMAIN.name : domainId };
}

export function tokenView(t: TokenRecord, opts: TokenViewOptions) {
  const token: Record<string, unknown> = {
    methods: ['password'],
    user: { id: t.user.id, name: t.user.name, domain: domainRef(t.user.domain_id), password_expires_at: null },
    audit_ids: [t.auditId],
    expires_at: keystoneTime(t.expiresAt),
    issued_at: keystoneTime(t.issuedAt),
  };
  if (t.project) {
    token.project = { id: t.project.id, name: t.project.name, domain: domainRef(t.project.domain_id) };
    token.is_domain = false;
    token.roles = effectiveRoles(t.roles);
    if (opts.catalog) token.catalog = serviceCatalog(opts.baseUrl, opts.region);
  }
  return { token };
}
