// The identity a fresh Ferry starts with (projects admin and demo, their users and roles), and the one
// password format Ferry stores: scrypt, salted and self-describing.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { SETTINGS } from '../../config/settings';
import { scryptOffPool } from './scrypt-thread';

/** Keystone's default domain, the only domain Ferry has. */
export const DEFAULT_DOMAIN = Object.freeze({ id: 'default', name: 'Default' });

export interface IdentitySeedUser {
  name: string;
  project: string;
  role: string;
}

export const SEED_PROJECTS: readonly { name: string; description: string }[] = Object.freeze([
  { name: 'admin', description: 'Project of the cloud administrator.' },
  { name: 'demo', description: 'Project of the demo user.' },
]);

export const SEED_USERS: readonly IdentitySeedUser[] = Object.freeze([
  { name: 'admin', project: 'admin', role: 'admin' },
  { name: 'demo', project: 'demo', role: 'member' },
]);

export interface IdentitySeedOptions {
  adminPassword?: string;
  demoPassword?: string;
}

/** Rows the identity step inserted. */
export interface IdentitySeedResult {
  projects: number;
  users: number;
  roleAssignments: number;
}

/** 32 hex characters, the shape of Keystone's ids. */
export function newIdentityId(): string {
  return randomBytes(16).toString('hex');
}

/**
 * Inserts the projects, users and role assignments that are missing. Ids are drawn once and stored, so
 * they survive restarts; an existing user's password is never touched.
 */
export async function seedIdentity(ds: DataSource, opts: IdentitySeedOptions = {}): Promise<IdentitySeedResult> {
  const passwords: Record<string, string> = {
    admin: opts.adminPassword ?? SETTINGS.adminPassword.default,
    demo: opts.demoPassword ?? SETTINGS.demoPassword.default,
  };
  const projects = await insertMissing(ds, 'projects', SEED_PROJECTS.map((p) => [newIdentityId(), p.name, p.description]), ['id', 'name', 'description']);
  const projectIds = await idsByName(ds, 'projects', SEED_PROJECTS.map((p) => p.name));

  const existingUsers = await idsByName(ds, 'users', SEED_USERS.map((u) => u.name));
  const newUsers = SEED_USERS.filter((u) => !existingUsers.has(u.name));
  const userRows = await Promise.all(newUsers.map(async (u) => [newIdentityId(), u.name, await hashPassword(passwords[u.name]!), projectIds.get(u.project)!]));
  const users = userRows.length ? await insertMissing(ds, 'users', userRows, ['id', 'name', 'password_hash', 'default_project_id']) : 0;
  const userIds = await idsByName(ds, 'users', SEED_USERS.map((u) => u.name));

  const assignments = await ds.query(
    `INSERT INTO role_assignments (user_id, project_id, role)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
     ON CONFLICT (user_id, project_id, role) DO NOTHING RETURNING id`,
    [SEED_USERS.map((u) => userIds.get(u.name)), SEED_USERS.map((u) => projectIds.get(u.project)), SEED_USERS.map((u) => u.role)],
  ) as unknown[];
  return { projects, users, roleAssignments: assignments.length };
}

/** Inserts rows into the default domain, skipping names that exist there; returns how many it inserted. */
async function insertMissing(ds: DataSource, table: 'projects' | 'users', rows: unknown[][], columns: string[]): Promise<number> {
  const params: unknown[] = [];
  const tuples = rows.map((row) => `(${[...row, DEFAULT_DOMAIN.id].map((v) => `$${params.push(v)}`).join(', ')})`);
  const inserted = await ds.query(
    `INSERT INTO ${table} (${[...columns, 'domain_id'].join(', ')}) VALUES ${tuples.join(', ')}
     ON CONFLICT (domain_id, name) DO NOTHING RETURNING id`,
    params,
  ) as unknown[];
  return inserted.length;
}

async function idsByName(ds: DataSource, table: 'projects' | 'users', names: string[]): Promise<Map<string, string>> {
  const rows = await ds.query(`SELECT id, name FROM ${table} WHERE domain_id = $1 AND name = ANY($2)`, [DEFAULT_DOMAIN.id, names]) as { id: string; name: string }[];
  return new Map(rows.map((r) => [r.name, r.id]));
}

// scrypt$N$r$p$salt$hash, salt and hash base64url. Node's defaults: 16 MiB of memory per hash.
const SCRYPT = Object.freeze({ N: 16384, r: 8, p: 1, keyLength: 32, saltLength: 16 });
/** Parameters a stored hash may name: bounded, so a tampered row cannot make one login exhaust memory. */
const MAX_SCRYPT_COST = 1 << 20;

/** A salted scrypt hash that names its own parameters: `scrypt$N$r$p$salt$hash`. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SCRYPT.saltLength);
  const { N, r, p } = SCRYPT;
  const key = await scryptOffPool(password, salt, SCRYPT.keyLength, { N, r, p, maxmem: 256 * N * r });
  return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** True when password matches the stored hash; compares in constant time. A malformed hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((v) => Number.isInteger(v) && v > 0) || N > MAX_SCRYPT_COST || r > 32 || p > 16) return false;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (salt.length === 0 || expected.length < 16) return false;
  const actual = await scryptOffPool(password, salt, expected.length, { N, r, p, maxmem: 256 * N * r });
  return timingSafeEqual(actual, expected);
}
