// The seeded users' built-in passwords: which users still have theirs, and how an operator replaces one.
import type { DataSource } from 'typeorm';
import { SETTINGS } from '../../config/settings';
import { User } from '../entities';
import { DEFAULT_DOMAIN, hashPassword, SEED_USERS, verifyPassword } from './identity';

/** The password each seeded user gets when nothing else is said (documented in the README, so public). */
export const BUILT_IN_PASSWORDS: Readonly<Record<string, string>> = Object.freeze({
  admin: SETTINGS.adminPassword.default,
  demo: SETTINGS.demoPassword.default,
});

/** Names of the seeded users whose stored password is still the built-in one. */
export async function usersWithBuiltInPasswords(ds: DataSource): Promise<string[]> {
  const rows = await ds.query('SELECT name, password_hash FROM users WHERE domain_id = $1 AND name = ANY($2) ORDER BY name', [
    DEFAULT_DOMAIN.id, SEED_USERS.map((u) => u.name),
  ]) as { name: string; password_hash: string }[];
  const stillBuiltIn = await Promise.all(rows.map(async (r) => {
    const builtIn = BUILT_IN_PASSWORDS[r.name];
    return builtIn !== undefined && (await verifyPassword(builtIn, r.password_hash)) ? r.name : undefined;
  }));
  return stillBuiltIn.filter((n): n is string => n !== undefined);
}

/** Replaces the password of the Default-domain user `name` and clears its failed logins; false when there is no such user. */
export async function setUserPassword(ds: DataSource, name: string, password: string): Promise<boolean> {
  const hash = await hashPassword(password);
  const result = await ds.getRepository(User).update(
    { domain_id: DEFAULT_DOMAIN.id, name },
    { password_hash: hash, failed_auth_count: 0, failed_auth_at: null },
  );
  return (result.affected ?? 0) > 0;
}
