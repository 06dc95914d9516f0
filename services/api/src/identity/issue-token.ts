// Turns an authenticated caller into a stored token: a fresh id for the client, only its hash for the database.
import type { DataSource } from 'typeorm';
import type { Authenticated } from './authenticate';
import { hashTokenId, newAuditId, newTokenId } from './token-ids';
import { insertToken, pruneExpiredTokens, type TokenRecord } from './token-store';

export interface IssuedToken {
  /** The token id: given to the client once, never stored or logged. */
  id: string;
  record: TokenRecord;
}

export async function issueToken(ds: DataSource, auth: Authenticated, ttlSeconds: number, now = new Date()): Promise<IssuedToken> {
  const id = newTokenId();
  const expiresAt = new Date(now.getTime() + ttlSeconds * 1000);
  const record: TokenRecord = {
    idHash: hashTokenId(id),
    auditId: newAuditId(),
    issuedAt: now,
    expiresAt,
    user: { id: auth.user.id, name: auth.user.name, domain_id: auth.user.domain_id },
    project: auth.project && { id: auth.project.id, name: auth.project.name, domain_id: auth.project.domain_id },
    roles: auth.roles,
  };
  await pruneExpiredTokens(ds, auth.user.id, now);
  await insertToken(ds, {
    idHash: record.idHash, auditId: record.auditId, userId: record.user.id, projectId: record.project?.id ?? null, issuedAt: now, expiresAt,
  });
  return { id, record };
}
