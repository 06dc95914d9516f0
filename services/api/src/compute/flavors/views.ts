// How a flavor looks at each microversion: description from 2.55, extra_specs embedded from 2.61,
// swap an integer even when 0 from 2.75 (an empty string before, as Nova printed it).
import type { Flavor } from '@ferry/common/db';
import { versionIn, type ApiVersion } from '../../http/microversion';
import { resourceLinks } from '../common/links';

export type FlavorRow = Pick<Flavor, 'id' | 'flavorid' | 'name' | 'vcpus' | 'memory_mb' | 'root_gb' | 'ephemeral_gb' | 'swap'
  | 'rxtx_factor' | 'is_public' | 'disabled' | 'description' | 'extra_specs'>;

/** GET /flavors: id, name and links. */
export function flavorBrief(f: FlavorRow, v: ApiVersion, baseUrl: string) {
  return {
    id: f.flavorid,
    name: f.name,
    links: resourceLinks(baseUrl, 'flavors', f.flavorid),
    ...(versionIn(v, '2.55') ? { description: f.description } : {}),
  };
}

/** GET /flavors/detail, /flavors/{id}, and what create and update answer. */
export function flavorDetail(f: FlavorRow, v: ApiVersion, baseUrl: string) {
  return {
    id: f.flavorid,
    name: f.name,
    ram: f.memory_mb,
    disk: f.root_gb,
    swap: versionIn(v, '2.75') ? f.swap : f.swap || '',
    'OS-FLV-EXT-DATA:ephemeral': f.ephemeral_gb,
    'OS-FLV-DISABLED:disabled': f.disabled,
    vcpus: f.vcpus,
    'os-flavor-access:is_public': f.is_public,
    rxtx_factor: f.rxtx_factor || '',
    links: resourceLinks(baseUrl, 'flavors', f.flavorid),
    ...(versionIn(v, '2.55') ? { description: f.description } : {}),
    ...(versionIn(v, '2.61') ? { extra_specs: f.extra_specs } : {}),
  };
}
