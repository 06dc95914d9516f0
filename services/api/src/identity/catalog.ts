// The service catalog: where clients find identity, compute and image, all on Ferry's one public URL.
import { createHash } from 'node:crypto';

export const ENDPOINT_INTERFACES = ['public', 'internal', 'admin'] as const;

export interface CatalogEndpoint {
  id: string;
  interface: (typeof ENDPOINT_INTERFACES)[number];
  region: string;
  region_id: string;
  url: string;
}

export interface CatalogService {
  id: string;
  type: string;
  name: string;
  endpoints: CatalogEndpoint[];
}

/** Each service's path under the public URL; compute's is versioned, as Nova registers it. */
export const CATALOG_SERVICES: readonly { type: string; name: string; path: string }[] = Object.freeze([
  { type: 'identity', name: 'keystone', path: '/identity/v3' },
  { type: 'compute', name: 'nova', path: '/compute/v2.1' },
  { type: 'image', name: 'glance', path: '/image' },
]);

/** Ids derived from what they name: the same in every process and across restarts. */
function stableId(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32);
}

export function serviceCatalog(baseUrl: string, region: string): CatalogService[] {
  return CATALOG_SERVICES.map((s) => ({
    id: stableId('service', s.type),
    type: s.type,
    name: s.name,
    endpoints: ENDPOINT_INTERFACES.map((iface) => ({
      id: stableId('endpoint', s.type, iface),
      interface: iface,
      region,
      region_id: region,
      url: `${baseUrl}${s.path}`,
    })),
  }));
}
