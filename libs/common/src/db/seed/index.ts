// What a fresh Ferry database starts with. Every step inserts only what is missing, so seeding twice is harmless.
import type { DataSource } from 'typeorm';
import { seedFlavors } from './flavors';
import { seedImages } from './images';

export { CLASSIC_FLAVORS, seedFlavors, type FlavorSeed } from './flavors';
export { CIRROS_IMAGE, CIRROS_IMAGE_ID, seedImages } from './images';

/** Rows each step inserted (0 everywhere on an already seeded database). */
export interface SeedResult {
  flavors: number;
  images: number;
}

/**
 * Seeds the catalog (flavors, images). Identity (projects admin/demo, users, role assignments) is a
 * separate step, seedIdentity, to be added beside these and called from here.
 */
export async function seed(ds: DataSource): Promise<SeedResult> {
  const flavors = await seedFlavors(ds);
  const images = await seedImages(ds);
  return { flavors, images };
}
