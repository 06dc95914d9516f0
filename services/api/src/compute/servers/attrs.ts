// Server attributes the instances table has no column for, kept in system_metadata under fixed keys.
import type { Instance } from '@ferry/common/db';
import { REQUESTED_AZ_KEY } from '@ferry/common/domain';

/** system_metadata keys the Compute API owns; anyone patching system_metadata must merge, never replace. */
export const ATTR_KEYS = Object.freeze({
  description: 'display_description',
  keyName: 'key_name',
  requestedAz: REQUESTED_AZ_KEY,
  reservationId: 'reservation_id',
  launchIndex: 'launch_index',
  hostname: 'hostname',
  userData: 'user_data',
  configDrive: 'config_drive',
  accessIpV4: 'access_ip_v4',
  accessIpV6: 'access_ip_v6',
  autoDiskConfig: 'auto_disk_config',
  tags: 'tags',
  securityGroups: 'security_groups',
  trustedCerts: 'trusted_certs',
} as const);

export interface ServerAttrs {
  description: string | null;
  keyName: string | null;
  /** The zone asked for at create time (the zone shown once placed is the host's). */
  requestedAz: string | null;
  reservationId: string;
  launchIndex: number;
  hostname: string;
  userData: string | null;
  /** '' or 'True', as Nova stores and shows it. */
  configDrive: string;
  accessIpV4: string | null;
  accessIpV6: string | null;
  autoDiskConfig: boolean;
  tags: string[];
  securityGroups: string[];
  trustedCerts: string[] | null;
}

function jsonList(raw: string | undefined): string[] | null {
  if (raw === undefined) return null;
  try {
    const v: unknown = JSON.parse(raw);
    return Array.isArray(v) ? v.map(String) : null;
  } catch {
    return null;
  }
}

export function serverAttrs(instance: Pick<Instance, 'system_metadata'>): ServerAttrs {
  const m = instance.system_metadata ?? {};
  const str = (k: string) => (typeof m[k] === 'string' ? m[k] : null);
  return {
    description: str(ATTR_KEYS.description),
    keyName: str(ATTR_KEYS.keyName),
    requestedAz: str(ATTR_KEYS.requestedAz),
    reservationId: str(ATTR_KEYS.reservationId) ?? '',
    launchIndex: Number(str(ATTR_KEYS.launchIndex) ?? 0) || 0,
    hostname: str(ATTR_KEYS.hostname) ?? '',
    userData: str(ATTR_KEYS.userData),
    configDrive: str(ATTR_KEYS.configDrive) ?? '',
    accessIpV4: str(ATTR_KEYS.accessIpV4),
    accessIpV6: str(ATTR_KEYS.accessIpV6),
    autoDiskConfig: str(ATTR_KEYS.autoDiskConfig) === 'true',
    tags: jsonList(m[ATTR_KEYS.tags]) ?? [],
    securityGroups: jsonList(m[ATTR_KEYS.securityGroups]) ?? ['default'],
    trustedCerts: jsonList(m[ATTR_KEYS.trustedCerts]),
  };
}

/** The system_metadata entries for attrs; absent (undefined/null) values are left out. */
export function encodeServerAttrs(attrs: Partial<ServerAttrs>): Record<string, string> {
  const out: Record<string, string> = {};
  const put = (key: string, v: string | number | boolean | string[] | null | undefined, asJson = false) => {
    if (v === undefined || v === null) return;
    out[key] = asJson ? JSON.stringify(v) : String(v);
  };
  put(ATTR_KEYS.description, attrs.description);
  put(ATTR_KEYS.keyName, attrs.keyName);
  put(ATTR_KEYS.requestedAz, attrs.requestedAz);
  put(ATTR_KEYS.reservationId, attrs.reservationId);
  put(ATTR_KEYS.launchIndex, attrs.launchIndex);
  put(ATTR_KEYS.hostname, attrs.hostname);
  put(ATTR_KEYS.userData, attrs.userData);
  put(ATTR_KEYS.configDrive, attrs.configDrive);
  put(ATTR_KEYS.accessIpV4, attrs.accessIpV4);
  put(ATTR_KEYS.accessIpV6, attrs.accessIpV6);
  put(ATTR_KEYS.autoDiskConfig, attrs.autoDiskConfig);
  put(ATTR_KEYS.tags, attrs.tags, true);
  put(ATTR_KEYS.securityGroups, attrs.securityGroups, true);
  put(ATTR_KEYS.trustedCerts, attrs.trustedCerts, true);
  return out;
}
