// What the scheduler is asked to place and what it answers: shared by the API, scheduler and compute.
import type { Instance, InstanceFlavor } from '../db/entities/instance';

/** What is to be placed, and under which constraints. */
export interface RequestSpec {
  flavor: InstanceFlavor;
  image_ref: string;
  project_id: string;
  /** Only hosts in this zone (null/undefined: any). */
  availability_zone?: string | null;
  /** Place only on these hosts (admin's forced host, or a move's target). */
  force_hosts?: string[];
  /** Never place on these hosts (a move's source, hosts that already failed this build). */
  ignore_hosts?: string[];
  /** Hosts tried so far for this instance (1 on the first try). */
  num_attempts?: number;
}

/** One claimed host for one instance, plus the hosts to try next if it fails. */
export interface Selection {
  instance_uuid: string;
  host: string;
  node: string;
  /** Other hosts that passed the filters, best first (not claimed). */
  alternates: string[];
}

/** system_metadata key holding the zone a server asked for at create time; a move keeps it in that zone. */
export const REQUESTED_AZ_KEY = 'requested_availability_zone';

/** system_metadata key holding the hosts an admin forced a build onto (JSON list), so a lost build can be scheduled again. */
export const FORCED_HOSTS_KEY = 'requested_force_hosts';

/** system_metadata key holding the destination an admin named for the cold move in progress (absent: any host). */
export const MOVE_REQUESTED_HOST_KEY = 'move_requested_host';

/** system_metadata key holding the image of the rescue in progress (its message may be lost before the compute records it). */
export const RESCUE_REQUESTED_IMAGE_KEY = 'rescue_requested_image';

/** The request the API made for a build, from what it stored on the instance (a lost build is placed again with it). */
export function buildRequestSpecOf(instance: Pick<Instance, 'flavor' | 'image_ref' | 'project_id' | 'system_metadata'>): RequestSpec {
  const meta = instance.system_metadata ?? {};
  const forced = meta[FORCED_HOSTS_KEY];
  return {
    flavor: instance.flavor, image_ref: instance.image_ref, project_id: instance.project_id,
    availability_zone: meta[REQUESTED_AZ_KEY] ?? null,
    ...(forced ? { force_hosts: JSON.parse(forced) as string[] } : {}),
    num_attempts: 1,
  };
}
