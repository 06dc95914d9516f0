// AvailabilityZoneFilter: when the request names a zone, only hosts in it.
import type { HostFilter } from './host-filter';

export const availabilityZoneFilter: HostFilter = {
  name: 'AvailabilityZoneFilter',
  passes: (host, req) => !req.spec.availability_zone || host.availability_zone === req.spec.availability_zone,
};
