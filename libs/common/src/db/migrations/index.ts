// Ferry's schema migrations, oldest first. Add a new class for every change; never edit one that has shipped.
import { InitialSchema1767225600000 } from './1767225600000-initial-schema';
import { ComputeNodeAvailabilityZone1767830400000 } from './1767830400000-compute-node-availability-zone';
import { OneMovePerInstance1768435200000 } from './1768435200000-one-move-per-instance';
import { IdentityGuards1769040000000 } from './1769040000000-identity-guards';
import { ServiceLeases1769644800000 } from './1769644800000-service-leases';
import { LiveSteerRequests1770249600000 } from './1770249600000-live-steer-requests';
import { MigrationPolicies1770854400000 } from './1770854400000-migration-policies';
import { HostDrains1771459200000 } from './1771459200000-host-drains';
import { ClaimFunction1772064000000 } from './1772064000000-claim-function';

export const MIGRATIONS = [
  InitialSchema1767225600000, ComputeNodeAvailabilityZone1767830400000, OneMovePerInstance1768435200000, IdentityGuards1769040000000,
  ServiceLeases1769644800000, LiveSteerRequests1770249600000, MigrationPolicies1770854400000, HostDrains1771459200000,
  ClaimFunction1772064000000,
] as const;
