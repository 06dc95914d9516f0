// The tokens table: issue, look up (with the holder, scope and current roles), revoke. Keyed by hash only.
import type { DataSource } from 'typeorm';
import { Token } from '@ferry/common/db';

/** A live token as the database sees it now: roles are read at lookup, so a removed role ends the token. */
export interface TokenRecord {
  idHash: string;
  auditId: string;
  issuedAt: Date;
  expiresAt: Date;
  user: { id: string; name: string; domain_id: string };
  /** Null for an unscoped token. */
  project: { id: string; name: string; domain_id: string } | null;
  /** Role names assigned on the project (empty when unscoped). */
  roles: string[];
}

export interface NewToken {
  idHash: string;
  auditId: string;
  userId: string;
  projectId: string | null;
  issuedAt: Date;
  expiresAt: Date;
}

export async function insertToken(ds: DataSource, t: NewToken): Promise<void> {
  await ds.query(
    'INSERT INTO tokens (id_hash, user_id, project_id, audit_id, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)',
    [t.idHash, t.userId, t.projectId, t.auditId, t.issuedAt, t.expiresAt],
  );
}

/** Deletes the user's tokens that expired before now; expired tokens are never valid again. */
export async function pruneExpiredTokens(ds: DataSource, userId: string, now: Date): Promise<void> {
  await ds.query('DELETE FROM tokens WHERE user_id = $1 AND expires_at <= $2', [userId, now]);
}

interface TokenRow {
  audit_id: string;
  issued_at: Date;
  expires_at: Date;
  user_id: string;
  user_name: string;
  user_domain_id: string;
  project_id: string | null;
  project_name: string | null;
  project_domain_id: string | null;
  project_enabled: boolean | null;
  roles: string[];
}

/**
 * The token if it is valid at `now`: known, not revoked, not expired, its user enabled and, when scoped,
 * its project enabled and the user still holding a role there. Otherwise undefined.
 */
export async function findValidToken(ds: DataSource, idHash: string, now: Date): Promise<TokenRecord | undefined> {
  const rows = await ds.query(
    `SELECT t.audit_id, t.issued_at, t.expires_at,
            u.id AS user_id, u.name AS user_name, u.domain_id AS user_domain_id,
            t.project_id, p.name AS project_name, p.domain_id AS project_domain_id, p.enabled AS project_enabled,
            COALESCE(array_agg(ra.role ORDER BY ra.role) FILTER (WHERE ra.role IS NOT NULL), '{}') AS roles
       FROM tokens t
       JOIN users u ON u.id = t.user_id
       LEFT JOIN projects p ON p.id = t.project_id
       LEFT JOIN role_assignments ra ON ra.user_id = t.user_id AND ra.project_id = t.project_id
      WHERE t.id_hash = $1 AND NOT t.revoked AND t.expires_at > $2 AND u.enabled
      GROUP BY t.id_hash, u.id, p.id`,
    [idHash, now],
  ) as TokenRow[];
  const row = rows[0];
  if (!row) return undefined;
  const scoped = row.project_id !== null;
  if (scoped && (!row.project_enabled || row.roles.length === 0)) return undefined;
  return {
    idHash,
    auditId: row.audit_id,
    issuedAt: new Date(row.issued_at),
    expiresAt: new Date(row.expires_at),
    user: { id: row.user_id, name: row.user_name, domain_id: row.user_domain_id },
    project: scoped ? { id: row.project_id!, name: row.project_name!, domain_id: row.project_domain_id! } : null,
    roles: row.roles,
  };
}

/** Marks a valid token revoked; returns its audit id, or undefined when there was no valid token to revoke. */
export async function revokeToken(ds: DataSource, idHash: string, now: Date): Promise<string | undefined> {
  const result = await ds.createQueryBuilder()
    .update(Token)
    .set({ revoked: true })
    .where('id_hash = :idHash AND NOT revoked AND expires_at > :now', { idHash, now })
    .returning(['audit_id'])
    .execute();
  return (result.raw as { audit_id: string }[])[0]?.audit_id;
}
