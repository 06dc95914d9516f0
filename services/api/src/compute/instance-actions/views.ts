// Instance actions and their events as Nova shows them, per microversion and per caller.
import type { InstanceAction, InstanceActionEvent } from '@ferry/common/db';
import { versionIn, type ApiVersion } from '../../http/microversion';
import { hostId, naiveTime } from '../servers/format';

export function actionView(action: InstanceAction, version: ApiVersion): Record<string, unknown> {
  const view: Record<string, unknown> = {
    action: action.action,
    instance_uuid: action.instance_uuid,
    request_id: action.request_id,
    user_id: action.user_id,
    project_id: action.project_id,
    start_time: naiveTime(action.start_time),
    message: action.message,
  };
  if (versionIn(version, '2.58')) view.updated_at = naiveTime(action.updated_at);
  return view;
}

export interface EventVisibility {
  traceback: boolean;
  host: boolean;
  hostId: boolean;
}

/**
 * Who sees which event fields: admins everything (host from 2.62); owners the events without traceback from
 * 2.51, nothing before; everyone the hashed hostId from 2.62. Undefined: no events at all.
 */
export function eventVisibility(isAdmin: boolean, version: ApiVersion): EventVisibility | undefined {
  const hashed = versionIn(version, '2.62');
  if (isAdmin) return { traceback: true, host: hashed, hostId: hashed };
  if (versionIn(version, '2.51')) return { traceback: false, host: false, hostId: hashed };
  return undefined;
}

export function eventView(event: InstanceActionEvent, projectId: string, show: EventVisibility): Record<string, unknown> {
  const view: Record<string, unknown> = {
    event: event.event,
    start_time: naiveTime(event.start_time),
    finish_time: naiveTime(event.finish_time),
    result: event.result,
  };
  if (show.traceback) view.traceback = event.traceback;
  if (show.host) view.host = event.host;
  if (show.hostId) view.hostId = hostId(event.host, projectId);
  return view;
}
