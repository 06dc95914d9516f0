// Server sort keys per microversion (Nova's VALID_SORT_KEYS and ignore lists) and the column each sorts by.
import type { ApiVersion } from '../../http/microversion';
import { versionIn } from '../../http/microversion';
import { ATTR_KEYS } from './attrs';

const meta = (key: string) => `(i.system_metadata->>'${key}')`;

/** Every key Ferry can sort by, with its SQL expression over `instances i`. */
export const SORT_KEYS = Object.freeze({
  access_ip_v4: meta(ATTR_KEYS.accessIpV4),
  access_ip_v6: meta(ATTR_KEYS.accessIpV6),
  auto_disk_config: meta(ATTR_KEYS.autoDiskConfig),
  availability_zone: meta(ATTR_KEYS.requestedAz),
  config_drive: meta(ATTR_KEYS.configDrive),
  created_at: 'i.created_at',
  display_description: meta(ATTR_KEYS.description),
  display_name: 'i.display_name',
  host: 'i.host',
  hostname: meta(ATTR_KEYS.hostname),
  image_ref: 'i.image_ref',
  instance_type_id: "((i.flavor->>'id')::int)",
  kernel_id: 'NULL::text',
  key_name: meta(ATTR_KEYS.keyName),
  launch_index: `(${meta(ATTR_KEYS.launchIndex)}::int)`,
  launched_at: 'i.launched_at',
  locked: 'i.locked',
  locked_by: 'i.locked_by',
  node: 'i.node',
  power_state: 'i.power_state',
  progress: 'i.progress',
  project_id: 'i.project_id',
  ramdisk_id: 'NULL::text',
  root_device_name: 'NULL::text',
  task_state: 'i.task_state',
  terminated_at: 'i.deleted_at',
  updated_at: 'i.updated_at',
  user_id: 'i.user_id',
  uuid: 'i.uuid',
  vm_state: 'i.vm_state',
});
export type SortKey = keyof typeof SORT_KEYS;

/** Keys Nova accepted before it validated them and now ignores rather than refuse (until 2.75). */
const IGNORED_SORT_KEYS = [
  'architecture', 'cell_name', 'cleaned', 'default_ephemeral_device', 'default_swap_device', 'deleted', 'deleted_at', 'disable_terminate',
  'ephemeral_gb', 'ephemeral_key_uuid', 'id', 'key_data', 'launched_on', 'locked', 'memory_mb', 'os_type', 'reservation_id', 'root_gb',
  'shutdown_terminate', 'user_data', 'vcpus', 'vm_mode',
];

/** Which sort_key values a microversion accepts, and which of those it silently ignores. */
export function sortKeysFor(v: ApiVersion): { valid: Set<string>; ignored: Set<string> } {
  const real = Object.keys(SORT_KEYS).filter((k) => k !== 'locked');
  const ignored = new Set(IGNORED_SORT_KEYS);
  if (versionIn(v, '2.73')) {
    ignored.delete('locked');
    real.push('locked');
  }
  if (versionIn(v, '2.75')) return { valid: new Set(real), ignored: new Set() };
  return { valid: new Set([...real, ...ignored]), ignored };
}
