// A live migration as GET /servers/{id}/migrations shows it: progress fields, uuid from 2.59, user and project from 2.80.
import type { Migration } from '@ferry/common/db';
import { versionIn, type ApiVersion } from '../../http/microversion';
import { naiveTime } from '../common/nova-time';

export function serverMigrationView(m: Migration, v: ApiVersion): Record<string, unknown> {
  const view: Record<string, unknown> = {
    id: m.id, server_uuid: m.instance_uuid, source_node: m.source_node, dest_node: m.dest_node, source_compute: m.source_compute,
    dest_compute: m.dest_compute, dest_host: m.dest_host, status: m.status,
    memory_total_bytes: m.memory_total, memory_processed_bytes: m.memory_processed, memory_remaining_bytes: m.memory_remaining,
    disk_total_bytes: m.disk_total, disk_processed_bytes: m.disk_processed, disk_remaining_bytes: m.disk_remaining,
    created_at: naiveTime(m.created_at), updated_at: naiveTime(m.updated_at),
  };
  if (versionIn(v, '2.59')) view.uuid = m.uuid;
  if (versionIn(v, '2.80')) {
    view.user_id = m.user_id;
    view.project_id = m.project_id;
  }
  return view;
}
