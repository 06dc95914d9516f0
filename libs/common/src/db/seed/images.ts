// The stock test image: CirrOS, the tiny guest every OpenStack deployment boots first.
import type { DataSource } from 'typeorm';
import { Image } from '../entities';

/** Fixed, so scripts and tests can name the image without looking it up. */
export const CIRROS_IMAGE_ID = '6f0b1e5c-3c1d-4b38-9a5e-0c1f3a2d7e11';

export const CIRROS_IMAGE = Object.freeze({
  id: CIRROS_IMAGE_ID,
  name: 'cirros',
  status: 'active',
  visibility: 'public',
  disk_format: 'qcow2',
  container_format: 'bare',
  // cirros-0.6.2-x86_64-disk.img: a ~20 MiB qcow2 holding a 112 MiB disk.
  size: 21430272,
  virtual_size: 117440512,
  min_disk: 0,
  min_ram: 0,
  checksum: null,
  owner: null,
  protected: false,
  location: null,
  properties: { os_distro: 'cirros', os_version: '0.6.2', hw_architecture: 'x86_64' },
});

/** Inserts the cirros image unless an image with its id exists; returns how many it inserted. */
export async function seedImages(ds: DataSource): Promise<number> {
  const result = await ds.createQueryBuilder()
    .insert()
    .into(Image)
    .values([{ ...CIRROS_IMAGE, properties: { ...CIRROS_IMAGE.properties } }])
    .orIgnore()
    .returning(['id'])
    .execute();
  return result.raw.length;
}
