// What a fresh Ferry database starts with. Every step inserts only what is missing, so seeding twice is harmless.
import type { DataSource } from 'typeorm';
import { seedFlavors } from './flavors';
import { seedIdentity, type IdentitySeedOptions } from './identity';
export { BUILT_IN_PASSWORDS, setUserPassword, usersWithBuiltInPasswords } from './default-passwords';
import { seedImages } from './images';

export { CLASSIC_FLAVORS, seedFlavors, type FlavorSeed } from './flavors';
export { CIRROS_IMAGE, CIRROS_IMAGE_ID, seedImages } from './images';
export {
  DEFAULT_DOMAIN, SEED_PROJECTS, SEED_USERS, hashPassword, newIdentityId, seedIdentity, verifyPassword,
  type IdentitySeedOptions, type IdentitySeedResult, type IdentitySeedUser,
} from './identity';

/** Rows each step inserted (0 everywhere on an already seeded database). */
export interface SeedResult {
  flavors: number;
  images: number;
  projects: number;
  users: number;
  roleAssignments: number;
}

/**
 * Seeds the catalog (flavors, images) and identity (projects admin and demo, their users and roles).
 * Passwords apply only to users created now; an existing user keeps the password it has.
 */
export async function seed(ds: DataSource, opts: IdentitySeedOptions = {}): Promise<SeedResult> {
  const flavors = await seedFlavors(ds);
  const images = await seedImages(ds);
  const identity = await seedIdentity(ds, opts);
  return { flavors, images, ...identity };
}
