// Who calls an identity route: the holder of X-Auth-Token (an unscoped token will do here), and what they may see.
import type { FastifyRequest } from 'fastify';
import type { DataSource } from 'typeorm';
import { BadRequest, Forbidden, NotAuthenticated, NotFound } from '@ferry/common/domain';
import { ADMIN_ROLE } from '../http/auth';
import { AUTHENTICATION_REQUIRED } from './keystone-errors';
import { effectiveRoles } from './roles';
import { hashTokenId, looksLikeTokenId } from './token-ids';
import { findValidToken, type TokenRecord } from './token-store';

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return (Array.isArray(v) ? v[0] : v) || undefined;
}

async function lookup(ds: DataSource, tokenId: string | undefined): Promise<TokenRecord | undefined> {
  if (!tokenId || !looksLikeTokenId(tokenId)) return undefined;
  return findValidToken(ds, hashTokenId(tokenId), new Date());
}

/** The caller's valid token, or 401. */
export async function callerToken(req: FastifyRequest, ds: DataSource): Promise<TokenRecord> {
  const token = await lookup(ds, header(req, 'x-auth-token'));
  if (!token) throw new NotAuthenticated(AUTHENTICATION_REQUIRED);
  return token;
}

/** The token named by X-Subject-Token: 400 without the header, 404 when it is not valid (Keystone's answer). */
export async function subjectToken(req: FastifyRequest, ds: DataSource): Promise<{ id: string; token: TokenRecord }> {
  const id = header(req, 'x-subject-token');
  if (!id) throw new BadRequest('The X-Subject-Token header is required.');
  const token = await lookup(ds, id);
  if (!token) throw new NotFound('Could not find token.');
  return { id, token };
}

/** Holds the admin role on the project its token is scoped to. */
export function isAdmin(caller: TokenRecord): boolean {
  return caller.project !== null && effectiveRoles(caller.roles).some((r) => r.name === ADMIN_ROLE);
}

/** 403 unless the caller is an admin or the user the action concerns. */
export function requireAdminOrSelf(caller: TokenRecord, userId: string, rule: string): void {
  if (!isAdmin(caller) && caller.user.id !== userId) throw forbidden(rule);
}

export function requireAdmin(caller: TokenRecord, rule: string): void {
  if (!isAdmin(caller)) throw forbidden(rule);
}

export function forbidden(rule: string): Forbidden {
  return new Forbidden(`You are not authorized to perform the requested action: ${rule}.`);
}
