// How a migration looks in os-migrations at each microversion: migration_type and links (in-progress live
// migrations only) from 2.23, uuid from 2.59, user_id and project_id from 2.80.
import type { Migration } from '@ferry/common/db';
import { IN_PROGRESS_LIVE_STATUSES } from '@ferry/common/domain';
import { versionIn, type ApiVersion } from '../../http/microversion';
import { resourceLinks } from '../common/links';
import { naiveTime } from '../common/nova-time';

export function migrationView(m: Migration, v: ApiVersion, baseUrl: string) {
  const view: Record<string, unknown> = {
    id: m.id,
    instance_uuid: m.instance_uuid,
    source_compute: m.source_compute,
    dest_compute: m.dest_compute,
    source_node: m.source_node,
    dest_node: m.dest_node,
    dest_host: m.dest_host,
    old_instance_type_id: m.old_instance_type_id,
    new_instance_type_id: m.new_instance_type_id,
    status: m.status,
    created_at: naiveTime(m.created_at),
    updated_at: naiveTime(m.updated_at),
  };
  if (versionIn(v, '2.23')) {
    view.migration_type = m.migration_type;
    if (m.migration_type === 'live-migration' && (IN_PROGRESS_LIVE_STATUSES as readonly string[]).includes(m.status)) {
      view.links = resourceLinks(baseUrl, `servers/${m.instance_uuid}/migrations`, m.id);
    }
  }
  if (versionIn(v, '2.59')) view.uuid = m.uuid;
  if (versionIn(v, '2.80')) {
    view.user_id = m.user_id;
    view.project_id = m.project_id;
  }
  return view;
}
