// How a service looks at each microversion: integer id until 2.52, uuid from 2.53; forced_down from 2.11.
import { versionIn, type ApiVersion } from '../../http/microversion';
import { naiveTime } from '../common/nova-time';
import { novaBinary } from './nova-binaries';
import type { ServiceRow } from './service-rows';

/** The id a service is known by at this microversion. */
export function serviceId(svc: ServiceRow, v: ApiVersion): number | string {
  return versionIn(v, '2.53') ? svc.uuid : svc.id;
}

export function serviceView(svc: ServiceRow, v: ApiVersion) {
  return {
    id: serviceId(svc, v),
    binary: novaBinary(svc.binary),
    host: svc.host,
    zone: svc.zone,
    status: svc.disabled ? 'disabled' : 'enabled',
    state: svc.state,
    updated_at: naiveTime(svc.updated_at),
    disabled_reason: svc.disabled_reason,
    ...(versionIn(v, '2.11') ? { forced_down: svc.forced_down } : {}),
  };
}
