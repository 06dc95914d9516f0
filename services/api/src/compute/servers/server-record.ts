// What a server view reads of an instance: the stored fields it shows, with the times already written as Nova
// writes them. A listing selects exactly this from SQL (Postgres formats the times); show and PUT build it from
// the instance they loaded.
import type { Instance } from '@ferry/common/db';
import { isoTime, isoTimeSql, naiveTime, naiveTimeSql } from './format';

type ShownFields =
  | 'uuid' | 'display_name' | 'project_id' | 'user_id' | 'host' | 'node' | 'flavor' | 'image_ref' | 'vm_state' | 'task_state'
  | 'power_state' | 'progress' | 'locked' | 'locked_reason' | 'metadata' | 'system_metadata';

export type ServerRecord = Pick<Instance, ShownFields> & {
  /** Soft-deleted (deleted_at set): shown as DELETED. */
  deleted: boolean;
  /** created_at and updated_at as `created` / `updated` show them. */
  created: string;
  updated: string;
  /** launched_at and deleted_at as OS-SRV-USG shows them. */
  launched_at: string | null;
  terminated_at: string | null;
};

export function serverRecordOf(i: Instance): ServerRecord {
  return {
    uuid: i.uuid, display_name: i.display_name, project_id: i.project_id, user_id: i.user_id, host: i.host, node: i.node, flavor: i.flavor,
    image_ref: i.image_ref, vm_state: i.vm_state, task_state: i.task_state, power_state: i.power_state, progress: i.progress, locked: i.locked,
    locked_reason: i.locked_reason, metadata: i.metadata, system_metadata: i.system_metadata,
    deleted: i.deleted_at !== null && i.deleted_at !== undefined,
    created: isoTime(i.created_at), updated: isoTime(i.updated_at), launched_at: naiveTime(i.launched_at), terminated_at: naiveTime(i.deleted_at),
  };
}

/** The SELECT list giving a ServerRecord per row of `instances i`. */
export const SERVER_RECORD_COLUMNS = [
  'i.uuid', 'i.display_name', 'i.project_id', 'i.user_id', 'i.host', 'i.node', 'i.flavor', 'i.image_ref', 'i.vm_state', 'i.task_state',
  'i.power_state', 'i.progress', 'i.locked', 'i.locked_reason', 'i.metadata', 'i.system_metadata',
  'i.deleted_at IS NOT NULL AS deleted',
  `${isoTimeSql('i.created_at')} AS created`,
  `${isoTimeSql('i.updated_at')} AS updated`,
  `${naiveTimeSql('i.launched_at')} AS launched_at`,
  `${naiveTimeSql('i.deleted_at')} AS terminated_at`,
].join(', ');
