// An image in Glance v2's shape: core fields, custom properties at the top level, relative self/file/schema links.
import type { Image } from '@ferry/common/db';

/** Glance's timestamps: seconds, UTC, with a Z. */
export function glanceTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Whether an image is hidden from default lists (Glance's os_hidden, kept as a property). */
export function isHidden(image: Pick<Image, 'properties'>): boolean {
  return /^(true|1|yes|on)$/i.test(image.properties.os_hidden ?? '');
}

export function imageView(image: Image) {
  const { os_hidden: _hidden, ...properties } = image.properties;
  return {
    ...properties,
    id: image.id,
    name: image.name,
    status: image.status,
    visibility: image.visibility,
    protected: image.protected,
    os_hidden: isHidden(image),
    checksum: image.checksum,
    os_hash_algo: null,
    os_hash_value: null,
    owner: image.owner,
    size: image.size,
    virtual_size: image.virtual_size,
    min_ram: image.min_ram,
    min_disk: image.min_disk,
    disk_format: image.disk_format,
    container_format: image.container_format,
    created_at: glanceTime(image.created_at),
    updated_at: glanceTime(image.updated_at),
    tags: [] as string[],
    self: `/v2/images/${image.id}`,
    file: `/v2/images/${image.id}/file`,
    schema: '/v2/schemas/image',
  };
}
