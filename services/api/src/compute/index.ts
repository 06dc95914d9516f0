// The Compute API v2.1: one plugin per resource, all behind auth and microversion negotiation.
import type { RoutesPlugin } from '../api-deps';
import { availabilityZoneRoutes } from './availability-zones';
import { ferryAuditRoutes } from './ferry-audit';
import { ferryBusRoutes } from './ferry-bus';
import { ferryMigrationRoutes } from './ferry-migrations';
import { ferryHostDrainRoutes } from './ferry-host-drains';
import { ferryHostEvacuationRoutes } from './ferry-host-evacuations';
import { flavorRoutes } from './flavors';
import { hypervisorRoutes } from './hypervisors';
import { instanceActionRoutes } from './instance-actions';
import { limitRoutes } from './limits';
import { migrationRoutes } from './migrations';
import { serverMigrationRoutes } from './server-migrations';
import { serverRoutes } from './servers';
import { serviceRoutes } from './services';

export const computeRoutes: RoutesPlugin = async (app, { deps }) => {
  for (const plugin of [serverRoutes, instanceActionRoutes, limitRoutes, flavorRoutes, hypervisorRoutes, serviceRoutes, availabilityZoneRoutes, migrationRoutes, serverMigrationRoutes, ferryAuditRoutes, ferryBusRoutes, ferryMigrationRoutes, ferryHostEvacuationRoutes, ferryHostDrainRoutes]) {
    await app.register(plugin, { deps });
  }
};
