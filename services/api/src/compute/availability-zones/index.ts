// /os-availability-zone: zone names and whether each has an enabled service; /detail adds hosts and their services (admin).
import type { RoutesPlugin } from '../../api-deps';
import { requireAdmin } from '../../http/policy';
import { naiveTime } from '../common/nova-time';
import { novaBinary } from '../services/nova-binaries';
import { INTERNAL_ZONE, loadServices, type ServiceRow } from '../services/service-rows';

const POLICY = 'os_compute_api:os-availability-zone';

/** Zones with at least one enabled service are available; a zone whose services are all disabled is not. */
export function splitZones(services: ServiceRow[]): { available: string[]; unavailable: string[] } {
  const available = new Set(services.filter((s) => !s.disabled).map((s) => s.zone));
  const unavailable = new Set(services.filter((s) => s.disabled && !available.has(s.zone)).map((s) => s.zone));
  return { available: [...available].sort(), unavailable: [...unavailable].sort() };
}

/** Per available zone: host → binary (Nova's name) → {available (up), active (enabled), updated_at}, enabled services only. */
function zoneHosts(services: ServiceRow[], zone: string) {
  const hosts: Record<string, Record<string, { available: boolean; active: boolean; updated_at: string | null }>> = {};
  for (const s of services.filter((x) => !x.disabled && x.zone === zone)) {
    (hosts[s.host] ??= {})[novaBinary(s.binary)] = { available: s.state === 'up', active: true, updated_at: naiveTime(s.updated_at) };
  }
  return hosts;
}

export const availabilityZoneRoutes: RoutesPlugin = async (app, { deps }) => {
  const ds = deps.db.dataSource;

  app.get('/os-availability-zone', async () => {
    const { available, unavailable } = splitZones(await loadServices(ds, deps.config.serviceDownSeconds));
    // The zone of internal services is an implementation detail users never place servers in.
    const zone = (name: string, ok: boolean) => ({ zoneName: name, zoneState: { available: ok }, hosts: null });
    return {
      availabilityZoneInfo: [
        ...available.filter((z) => z !== INTERNAL_ZONE).map((z) => zone(z, true)),
        ...unavailable.filter((z) => z !== INTERNAL_ZONE).map((z) => zone(z, false)),
      ],
    };
  });

  app.get('/os-availability-zone/detail', async (req) => {
    requireAdmin(req.ctx, `${POLICY}:detail`);
    const services = await loadServices(ds, deps.config.serviceDownSeconds);
    const { available, unavailable } = splitZones(services);
    return {
      availabilityZoneInfo: [
        ...available.map((z) => ({ zoneName: z, zoneState: { available: true }, hosts: zoneHosts(services, z) })),
        ...unavailable.map((z) => ({ zoneName: z, zoneState: { available: false }, hosts: null })),
      ],
    };
  });
};
