// Token ids as clients hold them, and the only form Ferry stores: their SHA-256.
import { createHash, randomBytes } from 'node:crypto';

const TOKEN_ID_BYTES = 32;
/** base64url of 32 bytes, unpadded. */
const TOKEN_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** A fresh token id: 32 random bytes, url-safe. */
export function newTokenId(): string {
  return randomBytes(TOKEN_ID_BYTES).toString('base64url');
}

/** What could be a token Ferry issued; anything else is not looked up at all. */
export function looksLikeTokenId(value: string): boolean {
  return TOKEN_ID_PATTERN.test(value);
}

/** Hex SHA-256 of a token id: the tokens table's key. */
export function hashTokenId(tokenId: string): string {
  return createHash('sha256').update(tokenId).digest('hex');
}

/** Keystone's audit id: 16 random bytes, base64url (22 characters). Names a token in logs without revealing it. */
export function newAuditId(): string {
  return randomBytes(16).toString('base64url');
}
