// Validates X-Auth-Token for the compute and image APIs: a scoped, live token → who holds it.
import type { DataSource } from 'typeorm';
import type { TokenInfo, TokenValidator } from '../http/auth';
import { effectiveRoles } from './roles';
import { hashTokenId, looksLikeTokenId } from './token-ids';
import { tokenCacheFor } from './token-cache';
import { findValidToken, type TokenRecord } from './token-store';

export class DbTokenValidator implements TokenValidator {
  constructor(private readonly dataSource: DataSource) {}

  async validate(token: string): Promise<TokenInfo | undefined> {
    if (!looksLikeTokenId(token)) return undefined;
    const idHash = hashTokenId(token);
    const cache = tokenCacheFor(this.dataSource);
    const cached = cache.get(idHash);
    if (cached) return cached;
    const generation = cache.generation;
    const record = await findValidToken(this.dataSource, idHash, new Date());
    const info = record && tokenInfo(record);
    if (info) cache.set(idHash, info, generation);
    return info;
  }
}

/** What the compute and image APIs need of a token; undefined for an unscoped one (it grants nothing there). */
export function tokenInfo(record: TokenRecord): TokenInfo | undefined {
  if (!record.project) return undefined;
  return {
    user_id: record.user.id,
    user_name: record.user.name,
    project_id: record.project.id,
    project_name: record.project.name,
    roles: effectiveRoles(record.roles).map((r) => r.name),
    expires_at: record.expiresAt,
  };
}
